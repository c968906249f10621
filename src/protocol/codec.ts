/**
 * Frames as text: the one way a frame becomes JSON (`encodeFrame`), several frames in one
 * WebSocket message, and the client's reading of what the server sends (`decodeServerFrame`).
 * Nothing here imports zod: the client, which ships in browsers, reads frames with the
 * protocol's own validator (see server-frames.ts).
 */
import type { ClientFrame } from './frames.js';
import type { Schema } from './check.js';
import { isValidId } from './limits.js';
import { ServerFrame, type ChannelMessageFrame, type PeerMessageFrame } from './server-frames.js';

export type DecodeResult<T> = { ok: true; frame: T } | { ok: false; message: string };

/** JSON.parse, with undefined for text that is not JSON (no frame is `undefined`). */
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function decodeWith<T>(schema: Schema<T>, value: unknown): DecodeResult<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    return { ok: false, message: `invalid frame${where}: ${issue?.message ?? 'unknown'}` };
  }
  return { ok: true, frame: parsed.data };
}

export function decodeServerFrame(raw: string): DecodeResult<ServerFrame> {
  const value = parseJson(raw);
  if (value === undefined) return { ok: false, message: 'frame is not JSON' };
  const message = messageFrameOf(value);
  return message ? { ok: true, frame: message } : decodeWith(ServerFrame, value);
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * `peer.msg` and `channel.msg`, the frames of every delivery, checked by hand against the same
 * rules as their schemas (PeerMessageFrame, ChannelMessageFrame): a client in a busy channel reads
 * tens of thousands a second, and this is the cheapest check there is (no closure per field, no
 * issue bookkeeping). Returns
 * the frame with exactly the schema's keys, or null to let the schema decide (and name the fault);
 * a raw payload always goes to the schema. A property test holds the two to the same answers.
 */
export function messageFrameOf(value: unknown): PeerMessageFrame | ChannelMessageFrame | null {
  if (typeof value !== 'object' || value === null) return null;
  const f = value as Record<string, unknown>;
  if (f.raw !== undefined) return null;
  const { seq, msgId, from, text, ts } = f;
  if (!isCount(seq) || !isCount(ts) || typeof text !== 'string' || !isValidId(from)) return null;
  if (typeof msgId !== 'string' || msgId.length < 1 || msgId.length > 64) return null;
  if (f.t === 'channel.msg') {
    const { channel, historical } = f;
    if (!isValidId(channel) || typeof historical !== 'boolean') return null;
    return { t: 'channel.msg', channel, seq, msgId, from, text, ts, historical };
  }
  if (f.t === 'peer.msg') {
    const { offline } = f;
    if (typeof offline !== 'boolean') return null;
    return { t: 'peer.msg', seq, msgId, from, text, ts, offline };
  }
  return null;
}

/** The one way a frame becomes text. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * One WebSocket message may carry several frames, one per line, so that a sender can coalesce
 * what it writes to one socket in one tick. JSON.stringify never emits a raw newline, so the
 * separator cannot occur inside a frame.
 */
export const FRAME_SEPARATOR = '\n';

export function joinFrames(encoded: readonly string[]): string {
  return encoded.join(FRAME_SEPARATOR);
}

export function splitFrames(message: string): string[] {
  return message.includes(FRAME_SEPARATOR) ? message.split(FRAME_SEPARATOR) : [message];
}
