/**
 * Who may use the inspector (R9, issue 12.2). Every request and WebSocket upgrade passes, in
 * order:
 *
 * 1. **Host**: an IP literal, `localhost` (or `*.localhost`), or a name in `allowedHosts`. A
 *    DNS-rebinding page reaches us under its own name (`Host: attacker.example`) and stops here.
 * 2. **Origin**, when the client sends one (browsers always do for WebSockets and for
 *    cross-origin or POST requests): the page's own origin (`http(s)://<Host>`), or one of
 *    `allowedOrigins`. Any other web page stops here. A cross-site request without Origin
 *    (a `<script src>` of ours on a foreign page) is refused too, except navigations.
 * 3. **Who**: with an access token, anyone presenting it (`Authorization: Bearer`, or the
 *    cookie the page gets in exchange for it); without one, loopback peers only, and only when
 *    they connect directly: a request that carries proxy headers came from somewhere else.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const TOKEN_COOKIE = 'rtm_inspector_token';

export interface AccessPolicy {
  /** When set, every page load and socket must present it; otherwise loopback only. */
  accessToken?: string;
  /** Origins besides the page's own that may use the inspector (`https://ops.example.com`). */
  allowedOrigins?: readonly string[];
  /** Host names besides IP literals and localhost (`inspector.example.com`, `.example.com`). */
  allowedHosts?: readonly string[];
  /**
   * Whether `?token=` is accepted (default false). Only the relay turns it on, for producers
   * that cannot send headers (`@statelyai/inspect`'s `createWebSocketInspector({ url })`).
   */
  tokenInQuery?: boolean;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || plain === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** A host name or address the server may listen on without an access token. */
export function isLoopbackHost(host: string): boolean {
  return isLoopbackAddress(host) || host === 'localhost';
}

/** Headers that a reverse proxy adds: a request carrying one did not start on this machine. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via'] as const;

export function cameThroughProxy(req: IncomingMessage): boolean {
  return PROXY_HEADERS.some((name) => req.headers[name] !== undefined);
}

/** A loopback peer that connected to us directly (not a remote user relayed by a local proxy). */
export function isDirectLoopback(req: IncomingMessage): boolean {
  return isLoopbackAddress(req.socket.remoteAddress) && !cameThroughProxy(req);
}

/** The host name of a Host header (`[::1]:8080` → `::1`, `Example.com:80` → `example.com`). */
export function hostnameOf(hostHeader: string): string | undefined {
  try {
    const { hostname } = new URL(`http://${hostHeader}`);
    return hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

function hostAllowed(req: IncomingMessage, allowedHosts: readonly string[]): boolean {
  const header = req.headers.host;
  if (!header) return false;
  const name = hostnameOf(header);
  if (!name) return false;
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  return allowedHosts.some((allowed) => {
    const entry = allowed.toLowerCase();
    return entry.startsWith('.') ? name.endsWith(entry) || name === entry.slice(1) : name === entry;
  });
}

function normaliseOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) {
    // No Origin: a non-browser client, a same-origin GET, or a foreign page's no-cors GET
    // (`<script src>`); the browser's fetch metadata tells the last one apart.
    const site = req.headers['sec-fetch-site'];
    const mode = req.headers['sec-fetch-mode'];
    return site === undefined || site === 'same-origin' || site === 'none' || mode === 'navigate';
  }
  const given = normaliseOrigin(origin);
  if (given === 'null') return false;
  const host = req.headers.host?.toLowerCase();
  if (host && (given === `http://${host}` || given === `https://${host}`)) return true;
  return allowedOrigins.some((allowed) => normaliseOrigin(allowed) === given);
}

export function presentedToken(req: IncomingMessage, tokenInQuery = false): string | undefined {
  if (tokenInQuery) {
    const query = new URL(req.url ?? '/', 'http://inspector.invalid').searchParams.get('token');
    if (query) return query;
  }
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const cookie = req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type AccessDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** Steps 1 and 2: the request names one of our hosts and comes from an allowed page, if any. */
export function checkHostAndOrigin(req: IncomingMessage, policy: AccessPolicy = {}): AccessDecision {
  const { allowedOrigins = [], allowedHosts = [] } = policy;
  if (!hostAllowed(req, allowedHosts)) {
    const listed = allowedHosts.length ? `, ${allowedHosts.join(', ')}` : '';
    return { ok: false, status: 403, message: `the inspector does not answer to Host '${req.headers.host ?? ''}' (allowed: IP addresses, localhost${listed}; add names with allowedHosts or --inspector-allowed-host)` };
  }
  if (!originAllowed(req, allowedOrigins)) {
    return { ok: false, status: 403, message: `the inspector does not answer pages from origin '${req.headers.origin ?? req.headers['sec-fetch-site'] ?? ''}' (same origin only, or allowedOrigins)` };
  }
  return { ok: true };
}

/** Host, Origin, then token or direct loopback (see the top of this file). */
export function checkAccess(req: IncomingMessage, policy: AccessPolicy | string | undefined = {}): AccessDecision {
  const resolved: AccessPolicy = typeof policy === 'string' ? { accessToken: policy } : policy;
  const { accessToken, tokenInQuery = false } = resolved;
  const source = checkHostAndOrigin(req, resolved);
  if (!source.ok) return source;
  if (accessToken) {
    const token = presentedToken(req, tokenInQuery);
    if (token !== undefined && sameSecret(token, accessToken)) return { ok: true };
    return { ok: false, status: 401, message: 'inspector access token required' };
  }
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    return { ok: false, status: 403, message: 'the inspector answers loopback clients only (start it with an access token to expose it)' };
  }
  if (cameThroughProxy(req)) {
    return { ok: false, status: 403, message: 'the inspector does not answer requests relayed by a proxy without an access token' };
  }
  return { ok: true };
}
