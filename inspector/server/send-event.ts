/**
 * The return path (issue 15.1): a page asks for an event to be sent to a running actor. The
 * request comes over the page's own live socket, which passed the Host, Origin and access
 * checks when it opened; here it is bounded and checked before anything is delivered.
 *
 * Who receives it:
 * - the server's own actors (session machines, in-process): a remote control of live users'
 *   sessions, so only when the inspector has an access token, or has the demo on (which
 *   without a token answers loopback peers only);
 * - a remote producer that said it takes events back (`?events=1`: our reporter and the
 *   page's demo clients): the event is passed to it over its connection;
 * - any other producer (`@statelyai/inspect`): refused, its protocol has no return path.
 */
import { sanitizeJson } from './sanitize.js';

export const SEND_LIMITS = Object.freeze({
  /** Largest event, as JSON. */
  maxEventBytes: 16 * 1024,
  maxEventDepth: 16,
  maxTypeLength: 128,
  /** Requests a page may make per second (a token bucket of this size, refilled per second). */
  perSecond: 20,
});

export type SendRefusal =
  | 'BAD_REQUEST'
  | 'EVENT_TOO_LARGE'
  | 'UNKNOWN_ACTOR'
  | 'NO_RETURN_PATH'
  | 'PRODUCER_GONE'
  | 'REMOTE_CONTROL_OFF'
  | 'ACTOR_STOPPED'
  | 'TOO_MANY_REQUESTS';

/** The page's request, as it arrives on /inspector/live. */
export interface SendRequest {
  t: 'send';
  id: number;
  sessionId: string;
  event: { type: string; [key: string]: unknown };
}

/** The answer to one request. */
export type SendResult = { ok: true } | { ok: false; code: SendRefusal; message: string };

/** What travels back to a producer that takes events. */
export interface ProducerCommand {
  t: 'send';
  /** The actor's id as the producer knows it (without the relay's label). */
  sessionId: string;
  event: { type: string; [key: string]: unknown };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a decoded page frame; returns the request or why it is refused. */
export function parseSendRequest(value: unknown): { ok: true; request: SendRequest } | { ok: false; id: number | null; code: SendRefusal; message: string } {
  const id = isRecord(value) && Number.isSafeInteger(value.id) ? (value.id as number) : null;
  if (!isRecord(value) || value.t !== 'send' || id === null) return { ok: false, id, code: 'BAD_REQUEST', message: 'expected {t:"send", id, sessionId, event}' };
  if (typeof value.sessionId !== 'string' || value.sessionId.length === 0 || value.sessionId.length > 200) return { ok: false, id, code: 'BAD_REQUEST', message: 'sessionId must be a non-empty string' };
  const event = value.event;
  if (!isRecord(event) || typeof event.type !== 'string' || event.type.length === 0) return { ok: false, id, code: 'BAD_REQUEST', message: 'event must be an object with a string type' };
  if (event.type.length > SEND_LIMITS.maxTypeLength) return { ok: false, id, code: 'BAD_REQUEST', message: `event type longer than ${SEND_LIMITS.maxTypeLength} characters` };
  // XState's own events (xstate.init, xstate.after.…, xstate.done.…) are the runtime's to send.
  if (event.type.startsWith('xstate.')) return { ok: false, id, code: 'BAD_REQUEST', message: 'xstate.* events are sent by XState itself' };
  const checked = sanitizeJson(event, SEND_LIMITS.maxEventDepth);
  if (!checked.ok) return { ok: false, id, code: 'EVENT_TOO_LARGE', message: `event ${checked.reason}` };
  const bytes = Buffer.byteLength(JSON.stringify(event));
  if (bytes > SEND_LIMITS.maxEventBytes) return { ok: false, id, code: 'EVENT_TOO_LARGE', message: `event over ${SEND_LIMITS.maxEventBytes} bytes` };
  return { ok: true, request: { t: 'send', id, sessionId: value.sessionId, event: event as SendRequest['event'] } };
}

/** A per-page token bucket. */
export function createRateLimit(perSecond = SEND_LIMITS.perSecond, now: () => number = Date.now): () => boolean {
  let tokens: number = perSecond;
  let last = now();
  return () => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - last) / 1000) * perSecond);
    last = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
