/** Limits both sides enforce (SPEC R8). */

/** Version of the frame format; also the WebSocket subprotocol `rtm.v1`. */
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = `rtm.v${PROTOCOL_VERSION}`;

/** uid and channel id: 1–64 printable ASCII characters, no spaces. */
export const ID_PATTERN = /^[\x21-\x7e]{1,64}$/;
/** Message text, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** A whole frame, in bytes: the largest message plus its envelope. `ws` closes larger ones (1009). */
export const MAX_FRAME_BYTES = 64 * 1024;
/**
 * The largest WebSocket message a client writes (frames coalesced in one tick are split to fit).
 * The server's own limit (`limits.maxPayloadBytes`, 4 × MAX_FRAME_BYTES by default) is not
 * announced, but no server can accept less than one whole frame, so a client that never writes
 * more than one frame's worth in a message fits every server that accepts its frames.
 */
export const MAX_CLIENT_MESSAGE_BYTES = MAX_FRAME_BYTES;
/** Frames in one client WebSocket message: the server queues a message's requests at once. */
export const MAX_FRAMES_PER_MESSAGE = 256;
/**
 * Requests a client keeps on one socket without their answer; the rest wait in order. The
 * server closes a socket with more than 4096 requests waiting (MAX_PENDING_REQUESTS in
 * src/server/connection.ts); a quarter of that leaves room for acks and the link's own frames.
 */
export const MAX_IN_FLIGHT_REQUESTS = 1024;
/** Attribute keys are short identifiers; values are bounded text. */
export const ATTRIBUTE_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,32}$/;
export const MAX_ATTRIBUTE_VALUE_BYTES = 8 * 1024;
export const MAX_ATTRIBUTES = 32;
/** Uids in one presence query. */
export const MAX_PRESENCE_QUERY = 256;
/**
 * Agora RTM 1.x compatibility (issue 14.2). A raw (binary) message and its description share the
 * text limit: at most 32 KiB together. On the wire the bytes travel base64-encoded.
 */
export const MAX_RAW_MESSAGE_BYTES = MAX_MESSAGE_BYTES;
/** Base64 characters of the largest raw payload. */
export const MAX_RAW_BASE64_LENGTH = Math.ceil(MAX_RAW_MESSAGE_BYTES / 3) * 4;
/** Attributes of one channel, and the size of each value (as Agora RTM 1.x). */
export const MAX_CHANNEL_ATTRIBUTES = 32;
export const MAX_CHANNEL_ATTRIBUTE_VALUE_BYTES = 8 * 1024;
/** Channels in one getChannelMemberCount call (as Agora RTM 1.x). */
export const MAX_MEMBER_COUNT_QUERY = 32;
/** Users one session may watch with subscribePeersOnlineStatus. */
export const MAX_PRESENCE_SUBSCRIPTIONS = 512;

/** Keys that would reach Object.prototype if a record were ever built from them. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value) && !FORBIDDEN_KEYS.has(value);
}

export function utf8Length(text: string): number {
  // Fast path: ASCII-only text is one byte a character.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : new TextEncoder().encode(text).length;
}

/** WebSocket close codes the server uses (4000–4999 are the application's). */
export const CloseCode = {
  NORMAL: 1000,
  /** Sent by `ws` itself for a frame larger than maxPayload. */
  TOO_LARGE: 1009,
  PROTOCOL_ERROR: 4000,
  KICKED: 4001,
  LOGGED_OUT: 4002,
  HEARTBEAT_TIMEOUT: 4003,
  SERVER_SHUTDOWN: 4004,
  /** The client read too slowly and the server's send buffer for it overflowed. */
  SLOW_CONSUMER: 4005,
  /** The socket did not log in within the server's login deadline. */
  LOGIN_DEADLINE: 4006,
} as const;
