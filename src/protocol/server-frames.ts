/**
 * The frames the server sends (server → client) and the `data` of its answers, with their
 * schemas. The client reads every one of them through these schemas (see `decodeServerFrame`),
 * so they are written with the protocol's own small validator (`check.ts`), not zod: the client
 * ships in browsers. The frames clients send are in `frames.ts`.
 */
import { RtmErrorCode } from '../errors.js';
import {
  array,
  boolean,
  discriminated,
  int,
  literal,
  nullable,
  number,
  object,
  oneOf,
  optional,
  string,
  tuple,
  unknown,
  type Infer,
} from './check.js';
import { MAX_RAW_BASE64_LENGTH, isValidId } from './limits.js';

// ---- building blocks -------------------------------------------------------------------

const id = string({ refine: [isValidId, 'must be 1–64 printable ASCII characters without spaces'] });
const requestId = int(0);
const seq = int(0);
const timestamp = int(0);
const count = int(0);
const messageId = string({ min: 1, max: 64 });
const text = string();
/** The bytes of a raw (binary) message, base64-encoded (14.2); `text` is then its description. */
const rawPayload = string({ max: MAX_RAW_BASE64_LENGTH, pattern: /^[A-Za-z0-9+/]*={0,2}$/ });
const errorCode = oneOf(Object.values(RtmErrorCode) as RtmErrorCode[]);
const kickReason = oneOf(['REMOTE_LOGIN', 'BANNED_BY_SERVER']);

// ---- answers ---------------------------------------------------------------------------

export const OkResponseFrame = object({ t: literal('res'), id: requestId, ok: literal(true), data: optional(unknown()) });
export const ErrorResponseFrame = object({ t: literal('res'), id: requestId, ok: literal(false), code: errorCode, message: string() });

/** What a replay of one channel could not carry (R11.1): the messages its bounds left out, and which bound. */
const recoveryShape = {
  replayed: count,
  skipped: count,
  truncatedBy: nullable(oneOf(['REPLAY_CAP', 'REPLAY_WINDOW'])),
};
export const ChannelRecovery = object({ channel: id, ...recoveryShape });
export type ChannelRecovery = Infer<typeof ChannelRecovery>;

/** What a successful login or resume answers. */
export const SessionGrant = object({
  sessionId: string(),
  /** True when a resume found the presence session gone: the client restores channels and attributes (R4.4). */
  sessionExpired: boolean(),
  heartbeatIntervalMs: int(1),
  heartbeatTimeoutMs: int(1),
  serverTime: timestamp,
  /**
   * Identifies the server's history (random per store lifetime). A client that finds another
   * epoch than the one it knew starts its sequence tracking afresh (R11.2).
   */
  epoch: string({ min: 1, max: 64 }),
  /** Sends (peer.send + channel.send) a second the server accepts from this user; 0 = no limit. */
  sendRatePerSecond: number(0),
  /**
   * Messages meant for this user that were never stored or were dropped unread (inbox full,
   * aged out), counted for the life of the epoch: the difference between two grants is what an
   * absence cost (R11.1).
   */
  inboxDropped: count,
  /** A resume of a live session: per channel named in the resume, what the replay left out (R11.1). */
  recovery: optional(object({ channels: array(ChannelRecovery) })),
});
export type SessionGrant = Infer<typeof SessionGrant>;

/** `data` of a successful peer.send. */
export const PeerSendResult = object({
  /** True when the recipient was connected and the message was delivered at once. */
  hasPeerReceived: boolean(),
});
export type PeerSendResult = Infer<typeof PeerSendResult>;

/** `data` of a successful channel.join and of channel.members. */
export const JoinResult = object({
  members: array(id),
  /** channel.join only: the seq of the channel's latest message when the member joined. */
  seq: optional(seq),
  /** channel.join only: the epoch the seq belongs to (R11.2). */
  epoch: optional(string()),
  /** channel.join with lastSeq (a rejoin): what the replay left out (R11.1). */
  recovery: optional(object(recoveryShape)),
});
export type JoinResult = Infer<typeof JoinResult>;
export const MembersResult = JoinResult;
export type MembersResult = JoinResult;

/** `data` of a successful presence.query: one [uid, online] pair per asked uid, in the asked order. */
export const PresenceResult = object({ status: array(tuple([id, boolean()])) });
export type PresenceResult = Infer<typeof PresenceResult>;

/** `data` of a successful attrs.get (and attrs.getKeys). */
export const AttributesResult = object({ attrs: array(tuple([string(), string()])) });
export type AttributesResult = Infer<typeof AttributesResult>;

// ---- deliveries and notices ------------------------------------------------------------

/**
 * The answer to a ping, when nothing else answers it: the server answers a ping with the next
 * frame it writes to that socket, whatever it is (clients count any frame received as a sign of
 * life), and sends a pong only when nothing else was written within a quarter heartbeat
 * interval (at most 250 ms).
 */
export const PongFrame = object({ t: literal('pong') });

/** What every delivered message carries, peer or channel. */
const messageShape = {
  seq,
  msgId: messageId,
  from: id,
  text,
  /** A raw message's bytes (base64); `text` is then its description (14.2). */
  raw: optional(rawPayload),
  ts: timestamp,
};

export const PeerMessageFrame = object({
  t: literal('peer.msg'),
  ...messageShape,
  /** Delivered by a replay rather than live (API: isOfflineMessage). */
  offline: boolean(),
});

export const ChannelMessageFrame = object({
  t: literal('channel.msg'),
  channel: id,
  ...messageShape,
  /** Delivered by a replay rather than live (API: isHistoricalMessage). */
  historical: boolean(),
});

export const ChannelMemberFrame = object({ t: literal('channel.member'), channel: id, uid: id, joined: boolean() });

/** A stored peer message was dropped before delivery (R5.1: never silently). */
export const PeerDroppedFrame = object({
  t: literal('peer.dropped'),
  msgId: messageId,
  to: id,
  reason: oneOf(['INBOX_FULL', 'EXPIRED']),
});

export const KickFrame = object({ t: literal('kick'), reason: kickReason });
/** Sent just before the server closes a socket for breaking the protocol. */
export const ErrorFrame = object({ t: literal('error'), code: errorCode, message: string() });

// ---- server → client: Agora RTM 1.x compatibility (issue 14.2) ----------------------------

/** Agora's PeerOnlineState: connected, away within the presence window (R4.1), or gone. */
export const PeerOnlineState = oneOf(['ONLINE', 'UNREACHABLE', 'OFFLINE']);
export type PeerOnlineState = Infer<typeof PeerOnlineState>;

/** One channel attribute: [key, value, lastUpdateUserId, lastUpdateTs]. */
export const ChannelAttributeEntry = tuple([string(), string(), string(), timestamp]);
export type ChannelAttributeEntry = Infer<typeof ChannelAttributeEntry>;

/** `data` of channel.attrs.get. */
export const ChannelAttributesResult = object({ attrs: array(ChannelAttributeEntry) });
export type ChannelAttributesResult = Infer<typeof ChannelAttributesResult>;
/** `data` of channel.counts: one [channel, count] pair per asked channel, in the asked order. */
export const MemberCountResult = object({ counts: array(tuple([id, count])) });
export type MemberCountResult = Infer<typeof MemberCountResult>;
/** `data` of presence.subscribe: the current state of each asked uid, in the asked order. */
export const PresenceStateResult = object({ status: array(tuple([id, PeerOnlineState])) });
export type PresenceStateResult = Infer<typeof PresenceStateResult>;

/** A channel's attributes changed with notification asked for: all of them, as they now are. */
export const ChannelAttributesFrame = object({ t: literal('channel.attrs'), channel: id, attrs: array(ChannelAttributeEntry) });
/** A channel's member count changed (at most one a second, one every 3 s above 512 members). */
export const ChannelCountFrame = object({ t: literal('channel.count'), channel: id, count });
/** Watched users whose online state changed. */
export const PresenceChangedFrame = object({ t: literal('presence.changed'), status: array(tuple([id, PeerOnlineState])) });
/** The token of this session expires soon (30 s before, by default): renew it. */
export const TokenWillExpireFrame = object({ t: literal('token.willExpire') });

/** Told apart by `t`, and the two kinds of `res` by `ok`: the client reads every frame through this. */
export const ServerFrame = discriminated('t', {
  res: discriminated('ok', { true: OkResponseFrame, false: ErrorResponseFrame }),
  pong: PongFrame,
  'peer.msg': PeerMessageFrame,
  'channel.msg': ChannelMessageFrame,
  'channel.member': ChannelMemberFrame,
  'peer.dropped': PeerDroppedFrame,
  kick: KickFrame,
  error: ErrorFrame,
  'channel.attrs': ChannelAttributesFrame,
  'channel.count': ChannelCountFrame,
  'presence.changed': PresenceChangedFrame,
  'token.willExpire': TokenWillExpireFrame,
});
export type ServerFrame = Infer<typeof ServerFrame>;
export type ResponseFrame = Infer<typeof OkResponseFrame> | Infer<typeof ErrorResponseFrame>;
export type PeerMessageFrame = Infer<typeof PeerMessageFrame>;
export type ChannelMessageFrame = Infer<typeof ChannelMessageFrame>;
