/**
 * Login tokens: compact JWS (JWT) with HS256, signed with the server secret, carrying the uid
 * (`sub`) and the expiry (`exp`, seconds, fractions allowed by RFC 7519). `createToken` must be
 * synchronous (API.md) and jose only signs asynchronously, so both sides use node:crypto
 * directly: HMAC-SHA256 and a constant-time comparison of the signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RtmError, RtmErrorCode } from '../errors.js';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

export interface TokenOptions {
  /**
   * Lifetime; fractions and values ≤ 0 (an already expired token, for tests) are allowed. It
   * must be finite: an infinite or NaN lifetime is refused with RtmError INVALID_ARGUMENT
   * rather than minting a token whose `exp` no verifier accepts.
   */
  expiresInSeconds?: number;
}

export type TokenCheck =
  | { ok: true; expiresAt: number }
  | { ok: false; code: typeof RtmErrorCode.INVALID_TOKEN | typeof RtmErrorCode.TOKEN_EXPIRED; message: string };

function sign(secret: string, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

export function createToken(secret: string, uid: string, options: TokenOptions = {}, now = Date.now()): string {
  const lifetime = options.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (typeof lifetime !== 'number' || !Number.isFinite(lifetime)) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `expiresInSeconds must be a finite number of seconds, got ${String(lifetime)}`);
  }
  const payload = Buffer.from(JSON.stringify({ sub: uid, iat: Math.floor(now / 1000), exp: now / 1000 + lifetime })).toString(
    'base64url',
  );
  const signingInput = `${HEADER}.${payload}`;
  return `${signingInput}.${sign(secret, signingInput).toString('base64url')}`;
}

/**
 * One base64url segment exactly as RFC 7515 writes it (URL-safe alphabet, no padding, zero
 * trailing bits): it is canonical when re-encoding its bytes gives it back. Node's decoder skips
 * characters outside the alphabet ('=', spaces), so without this a signature with such
 * characters inserted would still verify.
 */
function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** Checks signature, subject and expiry. A token made for another uid is INVALID_TOKEN. */
export function verifyToken(secret: string, token: string, uid: string, now = Date.now()): TokenCheck {
  const invalid = (message: string): TokenCheck => ({ ok: false, code: RtmErrorCode.INVALID_TOKEN, message });
  const parts = token.split('.');
  if (parts.length !== 3) return invalid('token is not a compact JWT');
  const [header, payload, signature] = parts as [string, string, string];
  if (header !== HEADER) return invalid('token header is not HS256');
  if (!isCanonicalBase64url(payload) || !isCanonicalBase64url(signature)) return invalid('token is not strict base64url');
  const expected = sign(secret, `${header}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid('token signature is wrong');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return invalid('token payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null) return invalid('token payload is not an object');
  const { sub, exp } = claims as { sub?: unknown; exp?: unknown };
  if (sub !== uid) return invalid('token was issued for another uid');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return invalid('token has no expiry');
  if (exp * 1000 <= now) return { ok: false, code: RtmErrorCode.TOKEN_EXPIRED, message: 'token has expired' };
  return { ok: true, expiresAt: exp * 1000 };
}
