/**
 * The rig of the inspector security tests (issue 12): a real RTM server with its inspector, a
 * bystander RTM session that keeps exchanging messages for the whole test and must lose
 * nothing, raw producer and page sockets, and a second origin (another loopback port) that
 * serves a hostile page for Chromium.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { RtmClient } from '../../src/index.js';
import { createRtmServer, type RtmServer, type RtmServerOptions } from '../../src/server/index.js';
import type { InspectionMessage, PageFrame } from '../../inspector/server/index.js';

export async function startServer(options: Omit<RtmServerOptions, 'port'> = {}): Promise<RtmServer> {
  return createRtmServer({ port: 0, ...options });
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Bystander {
  /** Stops sending, waits for the last messages, and says what was lost (must be nothing). */
  finish(): Promise<{ sent: number; received: number; missing: string[]; stateChanges: string[] }>;
}

/**
 * Two real RtmClients on the server, the first sending the second a numbered peer message every
 * 20 ms. Any harm the inspector does to the server shows as a lost message or a state change.
 */
export async function startBystander(server: RtmServer, name = 'bystander'): Promise<Bystander> {
  const sender = new RtmClient({ url: server.url });
  const receiver = new RtmClient({ url: server.url });
  const stateChanges: string[] = [];
  const received: string[] = [];
  await sender.login({ uid: `${name}-a`, token: server.createToken(`${name}-a`) });
  await receiver.login({ uid: `${name}-b`, token: server.createToken(`${name}-b`) });
  for (const client of [sender, receiver]) client.on('ConnectionStateChanged', (state, reason) => stateChanges.push(`${state}/${reason}`));
  receiver.on('MessageFromPeer', (message) => received.push(message.text));
  const sent: string[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 1; running; n++) {
      const text = `m${n}`;
      sent.push(text);
      await sender.sendMessageToPeer({ text }, `${name}-b`).catch((error: unknown) => failures.push(`${text}: ${String(error)}`));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async finish() {
      running = false;
      await loop;
      await waitFor(() => received.length >= sent.length, 'the bystander to receive every message', 5_000).catch(() => undefined);
      const missing = [...sent.filter((text) => !received.includes(text)), ...failures];
      const changes = [...stateChanges];
      await sender.logout();
      await receiver.logout();
      sender.actor.stop();
      receiver.actor.stop();
      return { sent: sent.length, received: received.length, missing, stateChanges: changes };
    },
  };
}

/** A raw producer socket (what any process may open to the relay). */
export async function openProducer(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url, { headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with HTTP ${res.statusCode}`)));
  });
  return { ws, closed };
}

/** A page socket that records every message it is sent, and the text of every frame. */
export async function openViewer(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const items: InspectionMessage[] = [];
  const frames: string[] = [];
  let isOpen = true;
  ws.on('message', (data) => {
    const text = String(data);
    frames.push(text);
    const frame = JSON.parse(text) as PageFrame;
    if (frame.t === 'items') items.push(...frame.items);
  });
  ws.on('close', () => {
    isOpen = false;
  });
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with HTTP ${res.statusCode}`)));
  });
  return { ws, items, frames, get open() { return isOpen; } };
}

/** What an upgrade to `url` is answered with when refused: status and body text. */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error(`the upgrade to ${url} was accepted`));
    });
    ws.on('error', () => undefined);
  });
}

/** A second origin: a tiny HTTP server on another loopback port serving one page. */
export async function startOtherOrigin(html: string): Promise<{ url: string; close(): Promise<void>; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** http://HOST:PORT of the server, for HTTP requests to the inspector. */
export function httpBase(server: RtmServer): string {
  return server.url.replace(/^ws:/, 'http:');
}

/** An HTTP request with any headers (fetch may not set Host); resolves status and body text. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
