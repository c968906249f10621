/**
 * Who may open the inspector (R9): without an access token, only loopback peers; with one,
 * anyone presenting it (query `?token=`, `Authorization: Bearer`, or the cookie the page sets).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'rtm_inspector_token';

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || plain === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** A host name or address the server may listen on without an access token. */
export function isLoopbackHost(host: string): boolean {
  return isLoopbackAddress(host) || host === 'localhost';
}

export function presentedToken(req: IncomingMessage): string | undefined {
  const url = new URL(req.url ?? '/', 'http://inspector.invalid');
  const query = url.searchParams.get('token');
  if (query) return query;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const cookie = req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type AccessDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

export function checkAccess(req: IncomingMessage, accessToken: string | undefined): AccessDecision {
  if (accessToken) {
    const token = presentedToken(req);
    if (token !== undefined && sameSecret(token, accessToken)) return { ok: true };
    return { ok: false, status: 401, message: 'inspector access token required' };
  }
  if (isLoopbackAddress(req.socket.remoteAddress)) return { ok: true };
  return { ok: false, status: 403, message: 'the inspector answers loopback clients only (start it with an access token to expose it)' };
}
