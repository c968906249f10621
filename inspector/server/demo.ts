/**
 * The demo endpoints behind the page's "create client" panel: a login token and a ban, both
 * delegated to the RTM server that embeds the inspector. Off unless the server asks for them
 * (`serve --demo`, `inspectorDemo: true`). Besides the inspector's own Host and Origin checks
 * (issue 12.4):
 * - direct loopback callers only (not through a proxy), even when the inspector is exposed;
 * - POSTs must be `content-type: application/json`, which no cross-origin form or `no-cors`
 *   fetch can send;
 * - without the inspector's access token, only uids that start with `demo-` get a token or a
 *   ban, so the demo can neither log in as a real user nor ban one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Timing } from '../../machines/timing.js';
import { isDirectLoopback } from './access.js';

export interface DemoHooks {
  /** The RTM server's WebSocket URL (or a function returning it, once the server listens). */
  rtmUrl: string | (() => string);
  createToken(uid: string): string;
  ban(uid: string): void;
  /** The server's timing, so demo clients keep in step with it (e.g. a scaled demo server). */
  timing?: Partial<Timing> | (() => Partial<Timing>);
}

const MAX_BODY = 4096;
/** The uids the demo may act for when the inspector has no access token. */
export const DEMO_UID_PREFIX = 'demo-';

export interface DemoRequestContext {
  /** The caller presented the inspector's access token: any uid is allowed. */
  authenticated: boolean;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

export function demoConfig(hooks: DemoHooks): { rtmUrl: string; timing?: Partial<Timing> } {
  const timing = typeof hooks.timing === 'function' ? hooks.timing() : hooks.timing;
  return { rtmUrl: typeof hooks.rtmUrl === 'function' ? hooks.rtmUrl() : hooks.rtmUrl, ...(timing ? { timing } : {}) };
}

/** Serves /inspector/demo/{config,token,ban}. */
export function handleDemoRequest(route: string, req: IncomingMessage, res: ServerResponse, hooks: DemoHooks | undefined, context: DemoRequestContext = { authenticated: false }): void {
  if (!hooks) return send(res, 404, { code: 'NOT_FOUND', message: 'the demo is not enabled on this server (serve --demo)' });
  if (!isDirectLoopback(req)) return send(res, 403, { code: 'FORBIDDEN', message: 'demo endpoints answer direct loopback clients only (not through a proxy)' });
  if (route === 'config' && req.method === 'GET') return send(res, 200, demoConfig(hooks));
  if (req.method !== 'POST' || (route !== 'token' && route !== 'ban')) {
    return send(res, 404, { code: 'NOT_FOUND', message: `no demo endpoint ${req.method} ${route}` });
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    return send(res, 415, { code: 'INVALID_ARGUMENT', message: 'demo requests must be content-type: application/json' });
  }
  readJson(req).then(
    (body) => {
      const uid = (body as { uid?: unknown } | null)?.uid;
      if (typeof uid !== 'string' || uid.length === 0 || uid.length > 64) {
        return send(res, 400, { code: 'INVALID_ARGUMENT', message: 'uid must be a string of 1–64 characters' });
      }
      if (!context.authenticated && !uid.startsWith(DEMO_UID_PREFIX)) {
        return send(res, 403, { code: 'FORBIDDEN', message: `without the inspector access token the demo acts only for uids that start with '${DEMO_UID_PREFIX}'` });
      }
      try {
        if (route === 'token') return send(res, 200, { uid, token: hooks.createToken(uid), ...demoConfig(hooks) });
        hooks.ban(uid);
        return send(res, 200, { uid, banned: true });
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        return send(res, 400, { code: typeof code === 'string' ? code : 'INVALID_ARGUMENT', message: (error as Error).message });
      }
    },
    () => send(res, 400, { code: 'INVALID_ARGUMENT', message: 'the body must be JSON {"uid": "…"} under 4 KiB' }),
  );
}
