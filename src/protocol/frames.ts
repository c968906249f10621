/**
 * Every frame of the RTM protocol, client → server and server → client, with its schema.
 * Frames are JSON text, one object each, told apart by `t`. Requests carry an `id` that the
 * server echoes in its `res`. This module is the only place frames are defined; the client and
 * the server both build and read them through `encodeFrame`, `clientFrameParser` (the server)
 * and `decodeServerFrame` (the client).
 *
 * The schemas use `zod/mini`, whose functional API lets a bundler keep only the validators used
 * here: the client ships in browsers, and classic `zod` would be most of its bundle. A namespace
 * import (not `import { z }`) is what lets esbuild drop the rest.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { RtmErrorCode } from '../errors.js';
import {
  ATTRIBUTE_KEY_PATTERN,
  FORBIDDEN_KEYS,
  MAX_ATTRIBUTES,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_CHANNEL_ATTRIBUTES,
  MAX_CHANNEL_ATTRIBUTE_VALUE_BYTES,
  MAX_MEMBER_COUNT_QUERY,
  MAX_PRESENCE_QUERY,
  MAX_RAW_BASE64_LENGTH,
  PROTOCOL_VERSION,
  isValidId,
  utf8Length,
} from './limits.js';

// zod/mini loads no locale, so every issue would read "Invalid input". The English one (about
// 1 KB gzipped) keeps the messages that protocol errors and INVALID_ARGUMENT answers carry saying
// what is wrong. The setting is zod's global one, as classic zod sets it on import.
z.config(en());

// ---- building blocks -------------------------------------------------------------------

const id = z.string().check(z.refine(isValidId, 'must be 1–64 printable ASCII characters without spaces'));
const requestId = z.int().check(z.nonnegative());
const seq = z.int().check(z.nonnegative());
const timestamp = z.int().check(z.nonnegative());
/** Message ids are chosen by the sender and used to de-duplicate retries (R5.5). */
const messageId = z.string().check(z.minLength(1), z.maxLength(64));
/** Text size is checked by the handlers, so that an oversized message gets INVALID_MESSAGE, not a protocol close. */
const text = z.string();
const attributeKey = z.string().check(
  z.regex(ATTRIBUTE_KEY_PATTERN),
  z.refine((k) => !FORBIDDEN_KEYS.has(k), 'reserved key'),
);
const attributeValue = z.string().check(z.refine((v) => utf8Length(v) <= MAX_ATTRIBUTE_VALUE_BYTES, 'value too large'));
/** Attributes travel as [key, value] pairs so that no object is ever keyed by user input. */
const attributes = z.array(z.tuple([attributeKey, attributeValue])).check(z.maxLength(MAX_ATTRIBUTES));
/**
 * The bytes of a raw (binary) message, base64-encoded (14.2). Its `text` field carries the
 * message's description; handlers check that bytes and description stay within 32 KiB.
 */
const rawPayload = z.string().check(z.maxLength(MAX_RAW_BASE64_LENGTH), z.regex(/^[A-Za-z0-9+/]*={0,2}$/));
const errorCode = z.enum(Object.values(RtmErrorCode) as [RtmErrorCode, ...RtmErrorCode[]]);
const kickReason = z.enum(['REMOTE_LOGIN', 'BANNED_BY_SERVER']);

// ---- client → server -------------------------------------------------------------------

export const LoginFrame = z.object({
  t: z.literal('login'),
  id: requestId,
  v: z.literal(PROTOCOL_VERSION),
  uid: id,
  /** Absent for an anonymous login, which a server accepts only with `allowAnonymousLogin` (14.2). */
  token: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
});

/** Reconnect to an existing session; replay starts after the sequences named here (R5.2, R5.3). */
export const ResumeFrame = z.object({
  t: z.literal('resume'),
  id: requestId,
  v: z.literal(PROTOCOL_VERSION),
  uid: id,
  sessionId: z.string().check(z.minLength(1), z.maxLength(128)),
  /** Absent when the session was an anonymous login (14.2). */
  token: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
  /** Last peer-inbox sequence the client has seen. */
  peerSeq: seq,
  /** Last channel-history sequence seen, for each channel the app has joined. */
  channels: z.array(z.object({ channel: id, seq })).check(z.maxLength(1024)),
});

export const LogoutFrame = z.object({ t: z.literal('logout'), id: requestId });
export const PingFrame = z.object({ t: z.literal('ping') });

export const PeerSendFrame = z.object({
  t: z.literal('peer.send'),
  id: requestId,
  msgId: messageId,
  to: id,
  text,
  /** A raw message's bytes (base64); `text` is then its description (14.2). */
  raw: z.optional(rawPayload),
  offline: z.boolean(),
});

/** Cumulative: every inbox message up to `seq` has been received (R5.2). */
export const PeerAckFrame = z.object({ t: z.literal('peer.ack'), seq });

export const ChannelJoinFrame = z.object({
  t: z.literal('channel.join'),
  id: requestId,
  channel: id,
  /** When rejoining after the session expired: replay what was missed after this sequence (R4.4, R5.4). */
  lastSeq: z.optional(seq),
});
export const ChannelLeaveFrame = z.object({ t: z.literal('channel.leave'), id: requestId, channel: id });
export const ChannelSendFrame = z.object({
  t: z.literal('channel.send'),
  id: requestId,
  msgId: messageId,
  channel: id,
  text,
  /** A raw message's bytes (base64); `text` is then its description (14.2). */
  raw: z.optional(rawPayload),
});
export const ChannelMembersFrame = z.object({ t: z.literal('channel.members'), id: requestId, channel: id });
export const PresenceQueryFrame = z.object({
  t: z.literal('presence.query'),
  id: requestId,
  uids: z.array(id).check(z.minLength(1), z.maxLength(MAX_PRESENCE_QUERY)),
});
export const AttributesSetFrame = z.object({ t: z.literal('attrs.set'), id: requestId, attrs: attributes });
export const AttributesGetFrame = z.object({ t: z.literal('attrs.get'), id: requestId, uid: id });

// ---- client → server: Agora RTM 1.x compatibility (issue 14.2) ----------------------------

const attributeKeys = z.array(attributeKey).check(z.minLength(1), z.maxLength(MAX_CHANNEL_ATTRIBUTES));
const channelAttributeValue = z
  .string()
  .check(z.refine((v) => utf8Length(v) <= MAX_CHANNEL_ATTRIBUTE_VALUE_BYTES, 'value too large'));
const channelAttributes = z
  .array(z.tuple([attributeKey, channelAttributeValue]))
  .check(z.maxLength(MAX_CHANNEL_ATTRIBUTES));
/** `enableNotificationToChannelMembers`: the channel's members get `channel.attrs` after the change. */
const notify = z.boolean();

/** Adds or replaces the named attributes of the user, keeping the others. */
export const AttributesUpdateFrame = z.object({ t: z.literal('attrs.update'), id: requestId, attrs: attributes });
/** Deletes the named attributes of the user. */
export const AttributesDeleteFrame = z.object({ t: z.literal('attrs.delete'), id: requestId, keys: attributeKeys });
/** A user's attributes with these keys (those it has); answered with AttributesResult. */
export const AttributesGetKeysFrame = z.object({ t: z.literal('attrs.getKeys'), id: requestId, uid: id, keys: attributeKeys });

/** Channel attributes need no membership (as in Agora RTM); every change stamps the user and time. */
export const ChannelAttributesSetFrame = z.object({
  t: z.literal('channel.attrs.set'),
  id: requestId,
  channel: id,
  attrs: channelAttributes,
  notify,
});
export const ChannelAttributesUpdateFrame = z.object({
  t: z.literal('channel.attrs.update'),
  id: requestId,
  channel: id,
  attrs: channelAttributes,
  notify,
});
export const ChannelAttributesDeleteFrame = z.object({
  t: z.literal('channel.attrs.delete'),
  id: requestId,
  channel: id,
  keys: attributeKeys,
  notify,
});
export const ChannelAttributesClearFrame = z.object({ t: z.literal('channel.attrs.clear'), id: requestId, channel: id, notify });
/** All of a channel's attributes, or those with `keys`; answered with ChannelAttributesResult. */
export const ChannelAttributesGetFrame = z.object({
  t: z.literal('channel.attrs.get'),
  id: requestId,
  channel: id,
  keys: z.optional(attributeKeys),
});
/** Member counts of up to 32 channels (membership not needed); answered with MemberCountResult. */
export const ChannelCountsFrame = z.object({
  t: z.literal('channel.counts'),
  id: requestId,
  channels: z.array(id).check(z.minLength(1), z.maxLength(MAX_MEMBER_COUNT_QUERY)),
});
/** Watch these users' online state; answered with their current PeerOnlineState (PresenceStateResult). */
export const PresenceSubscribeFrame = z.object({
  t: z.literal('presence.subscribe'),
  id: requestId,
  uids: z.array(id).check(z.minLength(1), z.maxLength(MAX_PRESENCE_QUERY)),
});
export const PresenceUnsubscribeFrame = z.object({
  t: z.literal('presence.unsubscribe'),
  id: requestId,
  uids: z.array(id).check(z.minLength(1), z.maxLength(MAX_PRESENCE_QUERY)),
});
/** The app renewed its token while connected: the server checks it and re-arms its expiry notice. */
export const TokenRenewFrame = z.object({
  t: z.literal('token.renew'),
  id: requestId,
  token: z.string().check(z.minLength(1), z.maxLength(4096)),
});

export const ClientFrame = z.discriminatedUnion('t', [
  LoginFrame,
  ResumeFrame,
  LogoutFrame,
  PingFrame,
  PeerSendFrame,
  PeerAckFrame,
  ChannelJoinFrame,
  ChannelLeaveFrame,
  ChannelSendFrame,
  ChannelMembersFrame,
  PresenceQueryFrame,
  AttributesSetFrame,
  AttributesGetFrame,
  AttributesUpdateFrame,
  AttributesDeleteFrame,
  AttributesGetKeysFrame,
  ChannelAttributesSetFrame,
  ChannelAttributesUpdateFrame,
  ChannelAttributesDeleteFrame,
  ChannelAttributesClearFrame,
  ChannelAttributesGetFrame,
  ChannelCountsFrame,
  PresenceSubscribeFrame,
  PresenceUnsubscribeFrame,
  TokenRenewFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['t'];
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { t: T }>;

// ---- server → client -------------------------------------------------------------------

export const OkResponseFrame = z.object({
  t: z.literal('res'),
  id: requestId,
  ok: z.literal(true),
  data: z.optional(z.unknown()),
});
export const ErrorResponseFrame = z.object({
  t: z.literal('res'),
  id: requestId,
  ok: z.literal(false),
  code: errorCode,
  message: z.string(),
});

/** What a replay of one channel could not carry (R11.1): the messages its bounds left out, and which bound. */
export const ChannelRecovery = z.object({
  channel: id,
  replayed: z.int().check(z.nonnegative()),
  skipped: z.int().check(z.nonnegative()),
  truncatedBy: z.nullable(z.enum(['REPLAY_CAP', 'REPLAY_WINDOW'])),
});
export type ChannelRecovery = z.infer<typeof ChannelRecovery>;

/** What a successful login or resume answers. */
export const SessionGrant = z.object({
  sessionId: z.string(),
  /** True when a resume found the presence session gone: the client restores channels and attributes (R4.4). */
  sessionExpired: z.boolean(),
  heartbeatIntervalMs: z.int().check(z.positive()),
  heartbeatTimeoutMs: z.int().check(z.positive()),
  serverTime: timestamp,
  /**
   * Identifies the server's history (random per store lifetime). A client that finds another
   * epoch than the one it knew starts its sequence tracking afresh (R11.2).
   */
  epoch: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Sends (peer.send + channel.send) a second the server accepts from this user; 0 = no limit. */
  sendRatePerSecond: z.number().check(z.nonnegative()),
  /**
   * Messages meant for this user that were never stored or were dropped unread (inbox full,
   * aged out), counted for the life of the epoch: the difference between two grants is what an
   * absence cost (R11.1).
   */
  inboxDropped: z.int().check(z.nonnegative()),
  /** A resume of a live session: per channel named in the resume, what the replay left out (R11.1). */
  recovery: z.optional(z.object({ channels: z.array(ChannelRecovery) })),
});
export type SessionGrant = z.infer<typeof SessionGrant>;

/** `data` of a successful peer.send. */
export const PeerSendResult = z.object({
  /** True when the recipient was connected and the message was delivered at once. */
  hasPeerReceived: z.boolean(),
});
export type PeerSendResult = z.infer<typeof PeerSendResult>;

/** `data` of a successful channel.join and of channel.members. */
export const JoinResult = z.object({
  members: z.array(id),
  /** channel.join only: the seq of the channel's latest message when the member joined. */
  seq: z.optional(seq),
  /** channel.join only: the epoch the seq belongs to (R11.2). */
  epoch: z.optional(z.string()),
  /** channel.join with lastSeq (a rejoin): what the replay left out (R11.1). */
  recovery: z.optional(z.omit(ChannelRecovery, { channel: true })),
});
export type JoinResult = z.infer<typeof JoinResult>;
export const MembersResult = JoinResult;
export type MembersResult = JoinResult;

/** `data` of a successful presence.query: one [uid, online] pair per asked uid, in the asked order. */
export const PresenceResult = z.object({ status: z.array(z.tuple([id, z.boolean()])) });
export type PresenceResult = z.infer<typeof PresenceResult>;

/** `data` of a successful attrs.get. */
export const AttributesResult = z.object({ attrs: z.array(z.tuple([z.string(), z.string()])) });
export type AttributesResult = z.infer<typeof AttributesResult>;

/**
 * The answer to a ping, when nothing else answers it: the server answers a ping with the next
 * frame it writes to that socket, whatever it is (clients count any frame received as a sign of
 * life), and sends a pong only when nothing else was written within a quarter heartbeat
 * interval (at most 250 ms).
 */
export const PongFrame = z.object({ t: z.literal('pong') });

export const PeerMessageFrame = z.object({
  t: z.literal('peer.msg'),
  seq,
  msgId: messageId,
  from: id,
  text,
  /** A raw message's bytes (base64); `text` is then its description (14.2). */
  raw: z.optional(rawPayload),
  ts: timestamp,
  /** Delivered by a replay rather than live (API: isOfflineMessage). */
  offline: z.boolean(),
});

export const ChannelMessageFrame = z.object({
  t: z.literal('channel.msg'),
  channel: id,
  seq,
  msgId: messageId,
  from: id,
  text,
  /** A raw message's bytes (base64); `text` is then its description (14.2). */
  raw: z.optional(rawPayload),
  ts: timestamp,
  /** Delivered by a replay rather than live (API: isHistoricalMessage). */
  historical: z.boolean(),
});

export const ChannelMemberFrame = z.object({
  t: z.literal('channel.member'),
  channel: id,
  uid: id,
  joined: z.boolean(),
});

/** A stored peer message was dropped before delivery (R5.1: never silently). */
export const PeerDroppedFrame = z.object({
  t: z.literal('peer.dropped'),
  msgId: messageId,
  to: id,
  reason: z.enum(['INBOX_FULL', 'EXPIRED']),
});

export const KickFrame = z.object({ t: z.literal('kick'), reason: kickReason });
/** Sent just before the server closes a socket for breaking the protocol. */
export const ErrorFrame = z.object({ t: z.literal('error'), code: errorCode, message: z.string() });

// ---- server → client: Agora RTM 1.x compatibility (issue 14.2) ----------------------------

/** Agora's PeerOnlineState: connected, away within the presence window (R4.1), or gone. */
export const PeerOnlineState = z.enum(['ONLINE', 'UNREACHABLE', 'OFFLINE']);
export type PeerOnlineState = z.infer<typeof PeerOnlineState>;

/** One channel attribute: [key, value, lastUpdateUserId, lastUpdateTs]. */
export const ChannelAttributeEntry = z.tuple([z.string(), z.string(), z.string(), timestamp]);
export type ChannelAttributeEntry = z.infer<typeof ChannelAttributeEntry>;

/** `data` of attrs.getKeys is AttributesResult; `data` of channel.attrs.get: */
export const ChannelAttributesResult = z.object({ attrs: z.array(ChannelAttributeEntry) });
export type ChannelAttributesResult = z.infer<typeof ChannelAttributesResult>;
/** `data` of channel.counts: one [channel, count] pair per asked channel, in the asked order. */
export const MemberCountResult = z.object({ counts: z.array(z.tuple([id, z.int().check(z.nonnegative())])) });
export type MemberCountResult = z.infer<typeof MemberCountResult>;
/** `data` of presence.subscribe: the current state of each asked uid, in the asked order. */
export const PresenceStateResult = z.object({ status: z.array(z.tuple([id, PeerOnlineState])) });
export type PresenceStateResult = z.infer<typeof PresenceStateResult>;

/** A channel's attributes changed with notification asked for: all of them, as they now are. */
export const ChannelAttributesFrame = z.object({
  t: z.literal('channel.attrs'),
  channel: id,
  attrs: z.array(ChannelAttributeEntry),
});
/** A channel's member count changed (at most one a second, one every 3 s above 512 members). */
export const ChannelCountFrame = z.object({
  t: z.literal('channel.count'),
  channel: id,
  count: z.int().check(z.nonnegative()),
});
/** Watched users whose online state changed. */
export const PresenceChangedFrame = z.object({
  t: z.literal('presence.changed'),
  status: z.array(z.tuple([id, PeerOnlineState])),
});
/** The token of this session expires soon (30 s before, by default): renew it. */
export const TokenWillExpireFrame = z.object({ t: z.literal('token.willExpire') });

/**
 * Told apart by `t`, and the two kinds of `res` by `ok`: the client reads every frame through
 * this, and picking the schema by discriminator, rather than trying each in turn, keeps that
 * cheap on zod/mini's interpreted path.
 */
export const ServerFrame = z.discriminatedUnion('t', [
  z.discriminatedUnion('ok', [OkResponseFrame, ErrorResponseFrame]),
  PongFrame,
  PeerMessageFrame,
  ChannelMessageFrame,
  ChannelMemberFrame,
  PeerDroppedFrame,
  KickFrame,
  ErrorFrame,
  ChannelAttributesFrame,
  ChannelCountFrame,
  PresenceChangedFrame,
  TokenWillExpireFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type ResponseFrame = z.infer<typeof OkResponseFrame> | z.infer<typeof ErrorResponseFrame>;
export type PeerMessageFrame = z.infer<typeof PeerMessageFrame>;
export type ChannelMessageFrame = z.infer<typeof ChannelMessageFrame>;

// ---- encoding --------------------------------------------------------------------------

export type DecodeResult<T> = { ok: true; frame: T } | { ok: false; message: string };

/** JSON.parse, with undefined for text that is not JSON (no frame is `undefined`). */
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function decodeWith<T>(schema: z.ZodMiniType<T>, value: unknown): DecodeResult<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    return { ok: false, message: `invalid frame${where}: ${issue?.message ?? 'unknown'}` };
  }
  return { ok: true, frame: parsed.data };
}

let compiledClientFrame: typeof ClientFrame | undefined;

/**
 * `ClientFrame` with zod's compiled fast path (the same answers and issues, several times
 * faster): the server validates every frame it receives with it. Built on first use, so that the
 * compiler, which generates code with `new Function`, stays out of client bundles: clients never
 * read client frames.
 */
export function clientFrameParser(): typeof ClientFrame {
  return (compiledClientFrame ??= z.compile(ClientFrame));
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
 * tens of thousands a second, and zod/mini's interpreted check was most of the cost of reading one
 * (its compiler would generate code with `new Function`, which browsers' CSP may forbid). Returns
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
