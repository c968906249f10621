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
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { checkAccess, checkHostAndOrigin, isLoopbackHost, presentedToken, sameSecret, TOKEN_COOKIE, type AccessPolicy } from './access.js';
import { loadAsset } from './assets.js';
import { fromInspectionEvent } from './convert.js';
import { handleDemoRequest, type DemoHooks } from './demo.js';
import { toInspectionMessage, type InspectionMessage, type PageFrame } from './messages.js';
import { renderPage, renderSignInPage } from './page-html.js';
import { jsonTextTooDeep } from './sanitize.js';
import { Relay, type RelayOptions } from './relay.js';
import { connectXStateV4, type XStateV4Bridge, type XStateV4BridgeOptions } from './v4-bridge.js';
import { createRateLimit, parseSendRequest, type ProducerCommand, type SendResult } from './send-event.js';

export type { DemoHooks } from './demo.js';
export type { ActorMessage, EventMessage, InspectionMessage, PageFrame, SnapshotMessage } from './messages.js';
export { fromInspectionEvent, toPlain } from './convert.js';
export { defaultRelayLimits, Relay } from './relay.js';
export type { ProducerHandle, PublishResult, RelayOptions } from './relay.js';
export { REDACTED } from './sanitize.js';
export { SEND_LIMITS } from './send-event.js';
export type { ProducerCommand, SendRefusal, SendRequest, SendResult } from './send-event.js';
export { createRelayReporter } from './reporter.js';
export { connectXStateV4 } from './v4-bridge.js';
export type { XStateV4Bridge, XStateV4BridgeOptions, XStateV4BridgeState, XStateV4BridgeStatus } from './v4-bridge.js';
export type { RelayReporter, RelayReporterOptions } from './reporter.js';

export const INSPECTOR_PATH = '/inspector';
export const RELAY_PATH = '/inspector/relay';
export const LIVE_PATH = '/inspector/live';
/** POST the access token here (form field `token`, or `Authorization: Bearer`) for the cookie. */
export const SESSION_PATH = '/inspector/session';

/** A producer frame may carry a machine definition (or a batch of messages); pages get batches. */
const MAX_PRODUCER_PAYLOAD = 4 * 1024 * 1024;
/** A page that cannot keep up is dropped rather than buffered without bound. */
const MAX_VIEWER_BUFFER = 32 * 1024 * 1024;
const MAX_SIGN_IN_BODY = 4096;

/** Sent with every inspector response: no framing by other sites, no sniffing, no referrer to other sites. */
const SAFE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  // Not no-referrer: Chromium then sends `Origin: null` with the sign-in form, which we refuse.
  'referrer-policy': 'same-origin',
} as const;

export interface InspectorOptions {
  /** When set, every page load and socket must present it; otherwise direct loopback only. */
  accessToken?: string;
  /** Origins besides the page's own whose pages may use the inspector (issue 12.2). */
  allowedOrigins?: readonly string[];
  /** Host names besides IP literals and localhost that requests may name (DNS rebinding). */
  allowedHosts?: readonly string[];
  /** Inspection messages kept for pages opened later (default 10 000). */
  historyLimit?: number;
  /** Byte, depth and actor bounds of the relay (see RelayOptions for the defaults). */
  limits?: Omit<RelayOptions, 'demo' | 'historyLimit'>;
  /** Enables the demo panel (create clients in the page). Off unless given. */
  demo?: DemoHooks;
  /**
   * XState v4 apps to show (issue 14.3): the addresses of their `@xstate/inspect` servers
   * (`ws://127.0.0.1:8888`), dialled and redialled until `close()`. A bad address throws `INVALID_ARGUMENT`.
   */
  xstateV4?: readonly (string | XStateV4BridgeOptions)[];
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
  /** One bridge per `xstateV4` address, in order. */
  readonly xstateV4Bridges: readonly XStateV4Bridge[];
  close(): Promise<void>;
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://inspector.invalid').pathname;
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { ...SAFE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${message}\n`);
}

function textOf(data: RawData): string {
  return Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** A WebSocket close reason is at most 123 bytes. */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString('utf8')}…`;
}

function sessionCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=${INSPECTOR_PATH}; HttpOnly; SameSite=Strict`;
}

export function createInspector(options: InspectorOptions = {}): Inspector {
  const relay = new Relay({ ...options.limits, historyLimit: options.historyLimit, demo: Boolean(options.demo) });
  const producers = new WebSocketServer({ noServer: true, maxPayload: MAX_PRODUCER_PAYLOAD });
  const pages = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const policy: AccessPolicy = {
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    allowedOrigins: options.allowedOrigins ?? [],
    allowedHosts: options.allowedHosts ?? [],
  };
  let closed = false;
  const xstateV4Bridges: XStateV4Bridge[] = [];
  for (const target of options.xstateV4 ?? []) {
    try {
      xstateV4Bridges.push(connectXStateV4(relay, typeof target === 'string' ? { url: target } : target));
    } catch (error) {
      // A bad address among several: the bridges already dialling stop before the error is thrown.
      for (const bridge of xstateV4Bridges) void bridge.close();
      throw error;
    }
  }
  // Remote control of the server's own actors (live users' sessions): with the access token, or
  // with the demo, which without a token is loopback-only (issue 15.1, docs/inspector.md).
  const serverEvents = Boolean(options.accessToken) || Boolean(options.demo);
  relay.serverEvents = serverEvents;
  const localActors = new LocalActors();

  producers.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const params = new URL(req.url ?? '/', 'http://inspector.invalid').searchParams;
    const requested = params.get('producer') ?? undefined;
    // Our reporter and the page's producer say they take events back; @statelyai/inspect cannot.
    const returnPath = params.get('events') === '1' ? (command: ProducerCommand) => ws.send(JSON.stringify(command)) : undefined;
    const producer = relay.addProducer(requested, returnPath);
    let refused = false;
    ws.on('error', () => undefined);
    ws.on('close', () => producer.release());
    ws.on('message', (data) => {
      if (refused) return;
      try {
        const text = textOf(data);
        // A batch adds one level; the exact per-message check follows in the relay.
        if (jsonTextTooDeep(text, relay.maxDepth + 1)) {
          refused = true;
          ws.close(1008, `inspection message nested deeper than ${relay.maxDepth} levels`);
          return;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          refused = true;
          ws.close(1007, 'inspection frames are JSON');
          return;
        }
        // Our own producers may batch; @statelyai/inspect sends one message per frame.
        for (const item of Array.isArray(value) ? value : [value]) {
          const message = toInspectionMessage(item);
          if (!message) continue;
          const result = producer.publish(message);
          if (!result.ok) {
            refused = true;
            ws.close(result.closeCode, closeReason(result.reason));
            return;
          }
        }
      } catch {
        // Whatever went wrong stays with this producer: the process and everyone else go on.
        refused = true;
        ws.close(1011, 'inspector error');
      }
    });
  });

  pages.on('connection', (ws: WebSocket) => {
    ws.on('error', () => undefined);
    const removeViewer = relay.addViewer({
      send(frame: PageFrame) {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount > MAX_VIEWER_BUFFER) {
          ws.close(1013, 'page too slow');
          return;
        }
        let text: string;
        try {
          text = JSON.stringify(frame);
        } catch {
          ws.close(1011, 'inspector error');
          return;
        }
        ws.send(text);
      },
    });
    ws.on('close', removeViewer);
    const allow = createRateLimit();
    ws.on('message', (data) => {
      try {
        const answer = (frame: Extract<PageFrame, { t: 'sent' }>) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
        };
        let value: unknown;
        try {
          value = JSON.parse(textOf(data));
        } catch {
          ws.close(1007, 'page frames are JSON');
          return;
        }
        const parsed = parseSendRequest(value);
        if (!parsed.ok) return answer({ t: 'sent', id: parsed.id, ok: false, code: parsed.code, message: parsed.message });
        const { request } = parsed;
        if (!allow()) return answer({ t: 'sent', id: request.id, ok: false, code: 'TOO_MANY_REQUESTS', message: 'at most 20 events a second' });
        let result = relay.routeEvent(request);
        if (result === 'in-process') result = sendToLocalActor(request.sessionId, request.event);
        answer({ t: 'sent', id: request.id, ...result });
      } catch {
        ws.close(1011, 'inspector error');
      }
    });
  });

  const sendToLocalActor = (sessionId: string, event: { type: string }): SendResult => {
    if (!serverEvents) {
      return { ok: false, code: 'REMOTE_CONTROL_OFF', message: "sending events to the server's own actors needs the inspector's access token (or the demo, on loopback)" };
    }
    const actor = localActors.get(sessionId);
    if (!actor) return { ok: false, code: 'ACTOR_STOPPED', message: `the actor '${sessionId}' is no longer running` };
    actor.send(event);
    return { ok: true };
  };

  // XState numbers session ids per process, so in-process actors never collide with each
  // other; remote producers' ids carry their label, so they never collide with these.
  const inspect = (event: InspectionEvent): void => {
    if (closed) return;
    try {
      localActors.follow(event);
      const message: InspectionMessage | null = fromInspectionEvent(event);
      if (message) relay.publish(message);
    } catch {
      // An actor the converter cannot read must never break the actor system it observes.
    }
  };

  const serveAsset = (res: ServerResponse, name: 'app' | 'sdk', map: boolean): void => {
    loadAsset(name, map).then(
      (asset) => {
        if (!asset) {
          refuse(res, 404, name === 'sdk' ? 'the client SDK bundle is not built (npm run build)' : 'the inspector page is not built (npm run build)');
          return;
        }
        res.writeHead(200, { ...SAFE_HEADERS, 'content-type': asset.contentType, 'cache-control': 'no-cache' });
        res.end(asset.body);
      },
      () => refuse(res, 500, 'inspector error'),
    );
  };

  /** POST /inspector/session: the access token in, an HttpOnly cookie out (nothing in a URL). */
  const signIn = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_SIGN_IN_BODY) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (size > MAX_SIGN_IN_BODY) return refuse(res, 413, 'sign-in body too large');
      const fromForm = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token') ?? undefined;
      const token = fromForm ?? presentedToken(req);
      if (!options.accessToken || token === undefined || !sameSecret(token, options.accessToken)) {
        return refuse(res, 401, 'inspector access token required');
      }
      res.writeHead(303, { ...SAFE_HEADERS, location: INSPECTOR_PATH, 'set-cookie': sessionCookie(options.accessToken), 'cache-control': 'no-store' });
      res.end();
    });
  };

  const route = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (path === SESSION_PATH && req.method === 'POST') {
      // Host and Origin still apply; the token is what this request brings.
      const source = checkHostAndOrigin(req, policy);
      if (!source.ok) return refuse(res, source.status, source.message);
      return signIn(req, res);
    }
    const access = checkAccess(req, policy);
    if (!access.ok) {
      if (access.status === 401 && path === INSPECTOR_PATH && req.method === 'GET') {
        res.writeHead(401, { ...SAFE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(renderSignInPage());
        return;
      }
      return refuse(res, access.status, access.message);
    }
    const name = path.slice(INSPECTOR_PATH.length).replace(/^\/+/, '');
    if (name.startsWith('demo/')) {
      handleDemoRequest(name.slice(5), req, res, options.demo, { authenticated: Boolean(options.accessToken) });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...SAFE_HEADERS, allow: 'GET', 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${req.method ?? ''} is not served here\n`);
      return;
    }
    switch (name) {
      case '': {
        const headers: Record<string, string> = { ...SAFE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' };
        // The page's scripts and its live socket then authenticate with the cookie.
        if (options.accessToken) headers['set-cookie'] = sessionCookie(options.accessToken);
        res.writeHead(200, headers);
        res.end(renderPage());
        return;
      }
      case 'app.js':
      case 'app.js.map':
        return serveAsset(res, 'app', name.endsWith('.map'));
      case 'sdk.js':
      case 'sdk.js.map':
        return serveAsset(res, 'sdk', name.endsWith('.map'));
      default:
        return refuse(res, 404, `no inspector resource '${name}'`);
    }
  };

  const handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = pathOf(req);
    if (path !== INSPECTOR_PATH && !path.startsWith(`${INSPECTOR_PATH}/`)) return false;
    try {
      route(req, res, path);
    } catch {
      // No error of the inspector may reach the server that embeds it.
      if (!res.headersSent) refuse(res, 500, 'inspector error');
      else res.destroy();
    }
    return true;
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const path = pathOf(req);
    const target = path === RELAY_PATH ? producers : path === LIVE_PATH ? pages : null;
    if (!target) return false;
    try {
      if (closed) {
        refuseUpgrade(socket, 503, 'the inspector is closed');
        return true;
      }
      // Producers that cannot send headers (createWebSocketInspector({ url })) may put the
      // token in the relay URL; pages use the cookie.
      const access = checkAccess(req, { ...policy, tokenInQuery: target === producers });
      if (!access.ok) {
        refuseUpgrade(socket, access.status, access.message);
        return true;
      }
      socket.on('error', () => socket.destroy());
      target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
    } catch {
      socket.destroy();
    }
    return true;
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const ws of [...producers.clients, ...pages.clients]) ws.terminate();
    await Promise.all([
      ...xstateV4Bridges.map((bridge) => bridge.close()),
      new Promise<void>((resolve) => producers.close(() => resolve())),
      new Promise<void>((resolve) => pages.close(() => resolve())),
    ]);
    relay.clear();
  };

  return { inspect, handleRequest, handleUpgrade, relay, xstateV4Bridges, close };
}

/** The in-process actors that are running, by session id, for events sent from a page. */
class LocalActors {
  private readonly actors = new Map<string, AnyActorRef>();

  follow(event: InspectionEvent): void {
    const actor = event.actorRef as AnyActorRef;
    if (event.type === '@xstate.actor') {
      this.actors.set(actor.sessionId, actor);
      if (this.actors.size > 10_000) {
        const [oldest] = this.actors.keys();
        if (oldest !== undefined) this.actors.delete(oldest);
      }
    } else if (event.type === '@xstate.snapshot' && (event.snapshot as { status?: string }).status !== 'active') {
      this.actors.delete(actor.sessionId);
    }
  }

  get(sessionId: string): AnyActorRef | undefined {
    return this.actors.get(sessionId);
  }
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
  // The access token is never put in these URLs (issue 12): pages sign in with it, producers
  // send it as a header (createRelayReporter({ token })).
  return {
    inspector,
    port,
    pageUrl: `http://${urlHost}:${port}${INSPECTOR_PATH}`,
    relayUrl: `ws://${urlHost}:${port}${RELAY_PATH}`,
    async close() {
      await inspector.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
