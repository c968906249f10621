/**
 * The frames clients send (client → server), with their zod schemas: the server validates every
 * frame it receives with `clientFrameParser()`. Frames are JSON text, one object each, told apart
 * by `t`; requests carry an `id` that the server echoes in its `res`. What the server sends is in
 * server-frames.ts, and frames become text through codec.ts. The client imports this module for
 * its types only, so no zod reaches its browser bundle.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';
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
