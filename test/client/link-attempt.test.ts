/**
 * Issue 11, item 6 (a): the link abandons a dial attempt only when it makes no progress for the
 * attempt timeout (a black hole), never one that is slow but moving: a WebSocket handshake that
 * completes late, a login answered late, frames arriving while the answer is awaited, an answer
 * that arrived while this process was stalled. Real sockets: small `ws` / TCP servers that
 * behave as told, and a real RtmClient (its link machine and socket adapter) whose timing makes
 * the attempt timeout 1 s (the least it can be): each phase of an attempt (dialing until the socket
 * opens, then the login until it is answered) gets that long without progress.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WsClient, { WebSocketServer, type WebSocket } from 'ws';
import { attemptTimeoutMs } from '../../machines/link.machine.js';
import { resolveTiming } from '../../machines/timing.js';
import { RtmClient } from '../../src/client/client.js';
import type { WebSocketConstructor } from '../../src/client/socket.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';

/** A long login timeout (the tests watch attempts, not the login rule), a 2 s grace: 1 s attempts. */
const timing = resolveTiming({ loginTimeoutMs: 60_000, interruptionGraceMs: 2000, presenceTimeoutMs: 10_000 });
const ATTEMPT_MS = attemptTimeoutMs(timing);
const GRANT = {
  sessionId: 's1',
  sessionExpired: false,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 3000,
  epoch: 'e1',
  sendRatePerSecond: 60,
  inboxDropped: 0,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A WebSocket server that answers the upgrade `upgradeDelayMs` after it arrives and a login
 * `answerDelayMs` after that, sending a pong every `chatterMs` meanwhile (0: silent).
 */
async function slowServer(behaviour: { upgradeDelayMs: number; answerDelayMs: number; chatterMs?: number }) {
  const http: HttpServer = createHttpServer();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => SUBPROTOCOL });
  const sockets = new Set<WebSocket>();
  let connections = 0;
  http.on('upgrade', (request, socket, head) => {
    connections++;
    setTimeout(() => {
      if (socket.destroyed) return;
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws));
    }, behaviour.upgradeDelayMs);
  });
  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    const chatter = behaviour.chatterMs ? setInterval(() => ws.send(JSON.stringify({ t: 'pong' })), behaviour.chatterMs) : null;
    ws.on('close', () => {
      if (chatter) clearInterval(chatter);
      sockets.delete(ws);
    });
    ws.on('message', (data) => {
      for (const line of String(data).split('\n')) {
        const frame = JSON.parse(line) as { t: string; id?: number };
        if (frame.t !== 'login' && frame.t !== 'resume') continue;
        setTimeout(() => {
          if (chatter) clearInterval(chatter);
          ws.send(JSON.stringify({ t: 'res', id: frame.id, ok: true, data: { ...GRANT, serverTime: Date.now() } }));
        }, behaviour.answerDelayMs);
      }
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(async () => {
    for (const ws of sockets) ws.terminate();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, connections: () => connections };
}

/** A TCP server that accepts and never says a word: the WebSocket handshake never completes. */
async function blackHole() {
  const server: TcpServer = createTcpServer();
  const opened: number[] = [];
  const closed: number[] = [];
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    opened.push(Date.now());
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume(); // read (and ignore) the upgrade request, so that the end of the socket is seen
    socket.on('close', () => {
      closed.push(Date.now());
      sockets.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => server.close(r));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, opened, closed };
}

/** `ws` as the client dials it, noting when each dial started (the client's side of the clock). */
function timedWebSocket(dialedAt: number[]): WebSocketConstructor {
  return class extends WsClient {
    constructor(url: string, protocols?: string | string[]) {
      dialedAt.push(Date.now());
      super(url, protocols, { perMessageDeflate: false });
    }
  } as unknown as WebSocketConstructor;
}

function startLink(url: string, WebSocket?: WebSocketConstructor) {
  const client = new RtmClient({ url, timing, ...(WebSocket ? { WebSocket } : {}) });
  const states: string[] = [];
  client.on('ConnectionStateChanged', (state, reason) => void states.push(`${state}/${reason}`));
  cleanups.push(async () => {
    await client.logout();
    client.actor.stop();
  });
  client.login({ uid: 'alice', token: 't' }).catch(() => undefined);
  const link = { get isUp() { return client.connectionState === 'CONNECTED'; } };
  /** What the link reported beyond the login's start. */
  const reports = { map: <T>(f: (r: { type: string }) => T) => states.slice(1).map((s) => f({ type: s === 'CONNECTED/LOGIN_SUCCESS' ? 'LINK_UP' : s })) };
  return { link, reports, states };
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(10);
}

describe('link attempts', () => {
  it('6 (a) a slow but progressing handshake is not abandoned: upgrade and login answered late, each phase within the attempt timeout', async () => {
    // 0.6 + 0.6 attempt timeouts: longer than one in all, but neither phase is silent that long.
    const server = await slowServer({ upgradeDelayMs: ATTEMPT_MS * 0.6, answerDelayMs: ATTEMPT_MS * 0.6 });
    const started = Date.now();
    const { link, reports } = startLink(server.url);
    await until(() => link.isUp, 3000);
    expect(reports.map((r) => r.type)).toEqual(['LINK_UP']);
    expect(Date.now() - started).toBeGreaterThan(ATTEMPT_MS);
    expect(server.connections()).toBe(1);
  });

  it('6 (a) frames arriving while the login answer is awaited count as progress: answered after 2.5 attempt timeouts, one dial', async () => {
    const server = await slowServer({ upgradeDelayMs: 0, answerDelayMs: ATTEMPT_MS * 2.5, chatterMs: ATTEMPT_MS / 4 });
    const { link, reports } = startLink(server.url);
    await until(() => link.isUp, 4000);
    expect(reports.map((r) => r.type)).toEqual(['LINK_UP']);
    expect(server.connections()).toBe(1);
  });

  it('6 (a) R3.3 a black-holed dial (TCP accepted, no WebSocket answer) is still abandoned after the attempt timeout, and re-dialled', async () => {
    const hole = await blackHole();
    const dialedAt: number[] = [];
    const { states } = startLink(hole.url, timedWebSocket(dialedAt));
    await until(() => hole.opened.length >= 2 && hole.closed.length >= 1, 4000);
    expect(hole.opened.length).toBeGreaterThanOrEqual(2);
    // From the dial's start as the client saw it: the hole's accept may run late on a busy machine.
    const held = hole.closed[0]! - dialedAt[0]!;
    expect(held).toBeGreaterThanOrEqual(ATTEMPT_MS - 10);
    expect(held).toBeLessThan(ATTEMPT_MS + 400);
    expect(states).toEqual(['CONNECTING/LOGIN']);
  });

  it('6 (a) R3.3 a login that is never answered (socket open, then silence) is abandoned one attempt timeout after the socket opened', async () => {
    const server = await slowServer({ upgradeDelayMs: 0, answerDelayMs: 60_000 });
    const started = Date.now();
    const { link } = startLink(server.url);
    await until(() => server.connections() >= 2, 4000);
    const elapsed = Date.now() - started;
    expect(server.connections()).toBeGreaterThanOrEqual(2);
    expect(elapsed).toBeGreaterThanOrEqual(ATTEMPT_MS - 10);
    expect(elapsed).toBeLessThan(ATTEMPT_MS + 50 + 500);
    expect(link.isUp).toBe(false);
  });

  it('6 (a) an answer that arrived while this process was stalled past the attempt timeout is read, not abandoned', async () => {
    // The server runs in its own process, so it answers while this one is blocked. It says when
    // the upgrade request has arrived (so the dial has left this process), holds its answer until
    // this process is stalled (the marker `stalling`), then answers and marks `upgraded`: the
    // answer waits unread while the attempt's timer comes due, however loaded the machine is.
    const dir = mkdtempSync(join(tmpdir(), 'link-attempt-'));
    const stalling = join(dir, 'stalling');
    const upgraded = join(dir, 'upgraded');
    const script = `
      import { existsSync, writeFileSync } from 'node:fs';
      import { createServer } from 'node:http';
      import { WebSocketServer } from 'ws';
      const http = createServer();
      const wss = new WebSocketServer({ noServer: true, handleProtocols: () => '${SUBPROTOCOL}' });
      let connections = 0;
      http.on('upgrade', (req, socket, head) => {
        console.log('upgrade requested');
        const answer = setInterval(() => {
          if (!existsSync(${JSON.stringify(stalling)})) return;
          clearInterval(answer);
          wss.handleUpgrade(req, socket, head, (ws) => {
            writeFileSync(${JSON.stringify(upgraded)}, '1');
            console.log('connection ' + ++connections);
            ws.on('message', (data) => {
              for (const line of String(data).split('\\n')) {
                const frame = JSON.parse(line);
                if (frame.t === 'login') ws.send(JSON.stringify({ t: 'res', id: frame.id, ok: true, data: { ...${JSON.stringify(GRANT)}, serverTime: Date.now() } }));
              }
            });
          });
        }, 5);
      });
      http.listen(0, '127.0.0.1', () => console.log('port ' + http.address().port));
    `;
    const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => child.kill());
    const lines: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => lines.push(...String(chunk).trim().split('\n')));
    await until(() => lines.some((l) => l.startsWith('port ')), 5000);
    const port = Number(lines.find((l) => l.startsWith('port '))!.slice(5));
    const { link, reports } = startLink(`ws://127.0.0.1:${port}`);
    await until(() => lines.includes('upgrade requested'), ATTEMPT_MS / 2);
    expect(lines).toContain('upgrade requested');
    // Stall for 2.5 attempt timeouts and until the server has answered.
    writeFileSync(stalling, '1');
    const end = Date.now() + ATTEMPT_MS * 2.5;
    const cap = Date.now() + 20_000;
    while ((Date.now() < end || !existsSync(upgraded)) && Date.now() < cap) {
      // A busy event loop: nothing is read, no timer runs.
    }
    expect(existsSync(upgraded)).toBe(true);
    await until(() => link.isUp, 3000);
    await sleep(50);
    expect(reports.map((r) => r.type)).toEqual(['LINK_UP']);
    expect(lines.filter((l) => l.startsWith('connection '))).toEqual(['connection 1']);
  });
});
