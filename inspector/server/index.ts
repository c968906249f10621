/**
 * The live inspector (R9): a relay for the `@statelyai/inspect` WebSocket stream, the browser
 * page that draws it, and an observer for in-process actors.
 *
 * - Producers connect to `/inspector/relay` (`createWebSocketInspector({ url })`); the server's
 *   own actors report through `inspector.inspect` (XState's `inspect` option).
 * - Pages load `/inspector` and follow `/inspector/live`.
 * Embedded in the RTM server through `handleRequest` / `handleUpgrade`, or run alone with
 * `startInspectorServer` (the `rtm-statechart inspect` command).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { InspectionEvent } from 'xstate';
import { checkAccess, isLoopbackHost, TOKEN_COOKIE } from './access.js';
import { loadAsset } from './assets.js';
import { fromInspectionEvent } from './convert.js';
import { handleDemoRequest, type DemoHooks } from './demo.js';
import { toInspectionMessage, type InspectionMessage, type PageFrame } from './messages.js';
import { renderPage } from './page-html.js';
import { Relay } from './relay.js';

export type { DemoHooks } from './demo.js';
export type { ActorMessage, EventMessage, InspectionMessage, PageFrame, SnapshotMessage } from './messages.js';
export { fromInspectionEvent, toPlain } from './convert.js';
export { Relay } from './relay.js';
export { createRelayReporter } from './reporter.js';
export type { RelayReporter, RelayReporterOptions } from './reporter.js';

export const INSPECTOR_PATH = '/inspector';
export const RELAY_PATH = '/inspector/relay';
export const LIVE_PATH = '/inspector/live';

/** A producer frame may carry a machine definition; pages get batches. */
const MAX_PRODUCER_PAYLOAD = 4 * 1024 * 1024;
/** A page that cannot keep up is dropped rather than buffered without bound. */
const MAX_VIEWER_BUFFER = 32 * 1024 * 1024;

export interface InspectorOptions {
  /** When set, every page load and relay connection must present it; otherwise loopback only. */
  accessToken?: string;
  /** Inspection messages kept for pages opened later (default 10 000). */
  historyLimit?: number;
  /** Enables the demo panel (create clients in the page). */
  demo?: DemoHooks;
}

export interface Inspector {
  /** Observer for in-process actors (`createActor(logic, { inspect: inspector.inspect })`). */
  inspect: (event: InspectionEvent) => void;
  /** Serves GET /inspector and its assets; false when the request is not the inspector's. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Takes /inspector/relay (producers) and /inspector/live (pages); false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** The relay itself (history, counts), for tests and embedding. */
  readonly relay: Relay;
  close(): Promise<void>;
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://inspector.invalid').pathname;
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}`);
}

function decode(data: RawData): unknown {
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
  return JSON.parse(text);
}

export function createInspector(options: InspectorOptions = {}): Inspector {
  const relay = new Relay({ historyLimit: options.historyLimit, demo: Boolean(options.demo) });
  const producers = new WebSocketServer({ noServer: true, maxPayload: MAX_PRODUCER_PAYLOAD });
  const pages = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let closed = false;

  producers.on('connection', (ws) => {
    const origin = {};
    ws.on('error', () => undefined);
    ws.on('close', () => relay.releaseOrigin(origin));
    ws.on('message', (data) => {
      let value: unknown;
      try {
        value = decode(data);
      } catch {
        ws.close(1007, 'inspection frames are JSON');
        return;
      }
      // Our own producers may batch; @statelyai/inspect sends one message per frame.
      for (const item of Array.isArray(value) ? value : [value]) {
        const message = toInspectionMessage(item);
        if (message) relay.publish(message, origin);
      }
    });
  });

  pages.on('connection', (ws) => {
    ws.on('error', () => undefined);
    const removeViewer = relay.addViewer({
      send(frame: PageFrame) {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount > MAX_VIEWER_BUFFER) {
          ws.close(1013, 'page too slow');
          return;
        }
        ws.send(JSON.stringify(frame));
      },
    });
    ws.on('close', removeViewer);
  });

  // XState numbers session ids per process, so in-process actors never collide with each
  // other; the relay keeps them apart from producers in other processes.
  const inProcess = {};
  const inspect = (event: InspectionEvent): void => {
    if (closed) return;
    let message: InspectionMessage | null;
    try {
      message = fromInspectionEvent(event);
    } catch {
      return; // An actor the converter cannot read must never break the actor system it observes.
    }
    if (message) relay.publish(message, inProcess);
  };

  const serveAsset = (res: ServerResponse, name: 'app' | 'sdk', map: boolean): void => {
    loadAsset(name, map).then(
      (asset) => {
        if (!asset) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end(name === 'sdk' ? 'the client SDK bundle is not built (npm run build)' : 'the inspector page is not built (npm run build)');
          return;
        }
        res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' });
        res.end(asset.body);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  };

  const handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = pathOf(req);
    if (path !== INSPECTOR_PATH && !path.startsWith(`${INSPECTOR_PATH}/`)) return false;
    const access = checkAccess(req, options.accessToken);
    if (!access.ok) {
      res.writeHead(access.status, { 'content-type': 'text/plain' });
      res.end(access.message);
      return true;
    }
    const route = path.slice(INSPECTOR_PATH.length).replace(/^\/+/, '');
    if (route.startsWith('demo/')) {
      handleDemoRequest(route.slice(5), req, res, options.demo);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' });
      res.end();
      return true;
    }
    switch (route) {
      case '': {
        const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' };
        // The page's scripts and its live socket then authenticate with the cookie.
        if (options.accessToken) headers['set-cookie'] = `${TOKEN_COOKIE}=${encodeURIComponent(options.accessToken)}; Path=${INSPECTOR_PATH}; HttpOnly; SameSite=Strict`;
        res.writeHead(200, headers);
        res.end(renderPage());
        return true;
      }
      case 'app.js':
      case 'app.js.map':
        serveAsset(res, 'app', route.endsWith('.map'));
        return true;
      case 'sdk.js':
      case 'sdk.js.map':
        serveAsset(res, 'sdk', route.endsWith('.map'));
        return true;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`no inspector resource '${route}'`);
        return true;
    }
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const path = pathOf(req);
    const target = path === RELAY_PATH ? producers : path === LIVE_PATH ? pages : null;
    if (!target) return false;
    const access = checkAccess(req, options.accessToken);
    if (!access.ok || closed) {
      refuseUpgrade(socket, access.ok ? 403 : access.status, access.ok ? 'closed' : access.message);
      return true;
    }
    target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
    return true;
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const ws of [...producers.clients, ...pages.clients]) ws.terminate();
    await Promise.all([
      new Promise<void>((resolve) => producers.close(() => resolve())),
      new Promise<void>((resolve) => pages.close(() => resolve())),
    ]);
    relay.clear();
  };

  return { inspect, handleRequest, handleUpgrade, relay, close };
}

export interface InspectorServerOptions extends InspectorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. Any non-loopback host requires `accessToken`. */
  host?: string;
}

export interface InspectorServer {
  inspector: Inspector;
  /** http://HOST:PORT/inspector */
  pageUrl: string;
  /** ws://HOST:PORT/inspector/relay — give it to `createWebSocketInspector({ url })`. */
  relayUrl: string;
  port: number;
  close(): Promise<void>;
}

/** The inspector alone, on its own HTTP server, for any XState v5 app. */
export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.accessToken) {
    throw new Error(`listening on ${host} exposes the inspector beyond this machine: pass an access token (--token)`);
  }
  const inspector = createInspector(options);
  const server = createServer((req, res) => {
    if (inspector.handleRequest(req, res)) return;
    res.writeHead(302, { location: INSPECTOR_PATH });
    res.end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!inspector.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const query = options.accessToken ? `?token=${encodeURIComponent(options.accessToken)}` : '';
  return {
    inspector,
    port,
    pageUrl: `http://${urlHost}:${port}${INSPECTOR_PATH}${query}`,
    relayUrl: `ws://${urlHost}:${port}${RELAY_PATH}${query}`,
    async close() {
      await inspector.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
