/**
 * Everything the server knows that outlives one socket, behind one small asynchronous interface:
 * sessions and presence, bans, peer inboxes, send de-duplication, channel membership and
 * history, user attributes. The in-memory store implements it for one node; a shared store
 * (Redis) can implement it for several, because nothing here holds a socket, an actor or a
 * timer: those stay in each node's local registry.
 *
 * Every method may be called concurrently; each one must be atomic on its own.
 */
import type { SessionEndReason } from '../../../machines/session.machine.js';

export interface SessionRecord {
  uid: string;
  sessionId: string;
  startedAt: number;
  /** The node holding the session (several nodes on one shared store); absent for a single node. */
  node?: string;
  /** Since when (store time, ms) the session has no socket, while it is away (see markAway). */
  awaySince?: number;
}

/** What `putSession` answers: the new session's generation, and the session it replaced, if any. */
export interface SessionPut {
  generation: number;
  replaced?: SessionRecord;
}

/** What `claimSession` answers: the session's new generation and the node that held it before. */
export interface SessionClaim {
  generation: number;
  previousNode?: string;
}

export interface EndedSession {
  uid: string;
  reason: SessionEndReason;
  endedAt: number;
}

export interface StoredPeerMessage {
  /** Per-recipient, strictly increasing for the life of the store. */
  seq: number;
  msgId: string;
  from: string;
  to: string;
  text: string;
  /** A raw message's bytes, base64 (`text` is then its description); absent for text (14.2). */
  raw?: string;
  /** Server time when it was accepted (ms). */
  ts: number;
}

export interface StoredChannelMessage {
  channel: string;
  /** Per-channel, strictly increasing for the life of the store. */
  seq: number;
  msgId: string;
  from: string;
  text: string;
  /** A raw message's bytes, base64 (`text` is then its description); absent for text (14.2). */
  raw?: string;
  ts: number;
}

/** One attribute of a channel, with who set it last and when (14.2). */
export interface StoredChannelAttribute {
  key: string;
  value: string;
  by: string;
  ts: number;
}

/** One change of a channel's attributes, applied atomically in this order: clear, remove, set. */
export interface ChannelAttributesChange {
  clear: boolean;
  remove: readonly string[];
  set: ReadonlyArray<readonly [string, string]>;
  /** Stamped on every attribute the change sets. */
  by: string;
  ts: number;
}

/** What a stored peer message counts as against the byte bounds: its text as UTF-8 and its raw bytes (as stored, base64), plus this. */
export const PEER_MESSAGE_OVERHEAD_BYTES = 128;

export function peerMessageBytes(message: Pick<StoredPeerMessage, 'text' | 'raw'>): number {
  return Buffer.byteLength(message.text, 'utf8') + (message.raw?.length ?? 0) + PEER_MESSAGE_OVERHEAD_BYTES;
}

/**
 * Retry de-duplication inside an append (R5.5 across nodes): the first append with `key` claims
 * it for `ttlMs` in the same atomic step; a later one with the same key stores nothing and
 * answers what the first one did (its seq, or its refusal). So a retry that reaches another node
 * after the first node stored the message and died is not stored twice.
 */
export interface AppendDedup {
  key: string;
  ttlMs: number;
}

/** Bounds of a channel append. */
export interface ChannelBounds {
  maxMessages: number;
  maxAgeMs: number;
  dedup?: AppendDedup;
}

/**
 * Bounds of one append. Count and age bound the inbox; the optional ones bound it in bytes
 * (`peerMessageBytes`), bound what one sender may hold in it, and bound what one sender may
 * hold over all inboxes in messages kept only because it asked for offline storage to a
 * recipient who is not logged in (`offlineMaxBytesPerSender` present = this message is one).
 */
export interface InboxBounds {
  maxMessages: number;
  maxAgeMs: number;
  /** Retry de-duplication claimed inside the append (see AppendDedup). */
  dedup?: AppendDedup;
  maxBytes?: number;
  maxMessagesPerSender?: number;
  maxBytesPerSender?: number;
  offlineMaxBytesPerSender?: number;
}

/**
 * Why an append was refused: the inbox is full (count or bytes), this sender holds its share of
 * it already, or this sender holds its offline allowance for recipients not logged in.
 */
export type InboxRefusal = 'INBOX_FULL' | 'SENDER_SHARE' | 'OFFLINE_ALLOWANCE';

/** `duplicate`: an earlier append claimed the dedup key; nothing was stored now (`stored.seq` is the earlier one's). */
export type InboxAppendResult =
  | { stored: StoredPeerMessage; expired: StoredPeerMessage[]; duplicate?: true }
  | { stored: null; reason: InboxRefusal; expired: StoredPeerMessage[]; duplicate?: true };

export interface ChannelHistoryQuery {
  /** Only messages with a larger seq. */
  afterSeq: number;
  /** Only messages stamped at or after this time. */
  sinceTs: number;
  /** Leave out this sender's own messages. */
  excludeFrom?: string;
  /** At most this many, the most recent; returned oldest first. */
  max: number;
}

/** Why a replay of channel history left out messages the member had not seen (R11.1). */
export type ReplayTruncation = 'REPLAY_CAP' | 'REPLAY_WINDOW';

/** What `channelHistory` answers: the messages, and what the bounds of the query left out. */
export interface ChannelHistoryPage {
  /** Oldest first. */
  messages: StoredChannelMessage[];
  /** Messages from others after `afterSeq` that the query's bounds left out (upper bound when history was already trimmed). */
  skipped: number;
  /** The bound that left them out: the count (`max`) or the age (`sinceTs`, or history already trimmed by age). */
  truncatedBy: ReplayTruncation | null;
}

/** The remembered answer to a send, so that a retry gets the same answer (R5.5). */
export type SendOutcome = { ok: true; data: unknown } | { ok: false; code: string; message: string };

export interface RtmStore {
  /**
   * Names this store's history: random, chosen when the store's state was created, and the same
   * for every node sharing it. Seqs are comparable only within one epoch (R11.2).
   */
  epoch(): Promise<string>;

  // ---- sessions, presence, accounts ----
  /** The live session of a uid (online or away), if any. */
  getSession(uid: string): Promise<SessionRecord | undefined>;
  /**
   * Makes `record` the uid's live session, replacing any other, in one step: of two logins at
   * once exactly one replaces the other, and learns which. Bumps the uid's generation (which
   * outlives its sessions) and answers it.
   */
  putSession(record: SessionRecord): Promise<SessionPut>;
  /**
   * A node takes over the uid's live session `sessionId` (a resume on a node that does not hold
   * it): the generation goes up and the session records `node`. Undefined, with nothing changed,
   * when `sessionId` is not the live session. Every later end by the node that held it before
   * names the old generation and is refused (fencing).
   */
  claimSession(uid: string, sessionId: string, node: string): Promise<SessionClaim | undefined>;
  /**
   * The session's owner says its socket is gone (`away`, the presence window starts now, by the
   * store's clock) or back. Refused (false) unless the session is still `sessionId` at `generation`.
   */
  markAway(uid: string, sessionId: string, generation: number, away: boolean): Promise<boolean>;
  /**
   * Ends the uid's session if it is still `sessionId` (and, when `generation` is given, still at
   * that generation) and answers true: the caller is the one that ended it and carries out the
   * rest (channels, attributes). A stale generation changes nothing and answers false; another
   * live session (or none) is left as it is, the reason is remembered, and the answer is false.
   */
  endSession(uid: string, sessionId: string, ended: EndedSession, generation?: number): Promise<boolean>;
  /** Why the uid's session `sessionId` ended, while remembered (bounded). */
  getEndedSession(uid: string, sessionId: string): Promise<EndedSession | undefined>;
  /** Online = has a live session (attached or within the presence window). Same order as `uids`. */
  areOnline(uids: readonly string[]): Promise<boolean[]>;
  /** Logged in and not logged out since: its inbox keeps every peer message (R5.1). */
  setLoggedIn(uid: string, loggedIn: boolean): Promise<void>;
  isLoggedIn(uid: string): Promise<boolean>;
  ban(uid: string): Promise<void>;
  /** Lifts a ban (no-op when the uid is not banned). */
  unban(uid: string): Promise<void>;
  isBanned(uid: string): Promise<boolean>;

  // ---- peer inbox ----
  /** Appends unless a bound refuses it (after dropping messages older than `maxAgeMs`, which are returned). */
  appendToInbox(message: Omit<StoredPeerMessage, 'seq'>, bounds: InboxBounds): Promise<InboxAppendResult>;
  /** Messages with seq > afterSeq, oldest first. */
  readInbox(uid: string, afterSeq: number): Promise<StoredPeerMessage[]>;
  /**
   * How many messages meant for `uid` were never stored or were dropped unread (inbox full,
   * aged out), counted for the life of the store: a client compares two readings to learn what
   * its absence cost (R11.1).
   */
  inboxDropCount(uid: string): Promise<number>;
  /** Cumulative acknowledgement: drops every message with seq ≤ upToSeq. */
  ackInbox(uid: string, upToSeq: number): Promise<void>;
  clearInbox(uid: string): Promise<void>;
  /** Drops every stored message older than `maxAgeMs` from every inbox and returns them. */
  expireInboxes(now: number, maxAgeMs: number): Promise<StoredPeerMessage[]>;

  // ---- send de-duplication (R5.5) ----
  recallSend(key: string): Promise<SendOutcome | undefined>;
  rememberSend(key: string, outcome: SendOutcome, ttlMs: number): Promise<void>;

  // ---- channels ----
  /** False when already a member. */
  joinChannel(channel: string, uid: string): Promise<boolean>;
  /** False when not a member. */
  leaveChannel(channel: string, uid: string): Promise<boolean>;
  channelMembers(channel: string): Promise<string[]>;
  /** How many members the channel has (0 for an unknown channel), without listing them. */
  channelMemberCount(channel: string): Promise<number>;
  channelsOf(uid: string): Promise<string[]>;
  /**
   * Stamps the next seq and keeps at most `maxMessages` messages no older than `maxAgeMs`.
   * `duplicate`: an earlier append claimed `bounds.dedup`; nothing was stored now.
   */
  appendToChannel(message: Omit<StoredChannelMessage, 'seq'>, bounds: ChannelBounds): Promise<StoredChannelMessage & { duplicate?: true }>;
  channelHistory(channel: string, query: ChannelHistoryQuery): Promise<ChannelHistoryPage>;
  /** The seq of the channel's latest message; 0 before the first. */
  lastChannelSeq(channel: string): Promise<number>;

  // ---- user attributes ----
  setAttributes(uid: string, attrs: ReadonlyArray<readonly [string, string]>): Promise<void>;
  getAttributes(uid: string): Promise<Array<[string, string]>>;
  deleteAttributes(uid: string): Promise<void>;

  // ---- Agora RTM 1.x compatibility (issue 14.2) ----
  /**
   * Removes `remove` from the user's attributes, then adds or replaces `set`, atomically. When
   * the result would hold more than `maxAttributes`, nothing changes and the answer is false.
   */
  updateAttributes(
    uid: string,
    change: { set: ReadonlyArray<readonly [string, string]>; remove: readonly string[] },
    maxAttributes: number,
  ): Promise<boolean>;
  /**
   * Applies one change to a channel's attributes atomically and answers all of them as they now
   * are (oldest key first), or null, with nothing changed, when more than `maxAttributes` would remain.
   */
  changeChannelAttributes(
    channel: string,
    change: ChannelAttributesChange,
    maxAttributes: number,
  ): Promise<StoredChannelAttribute[] | null>;
  /** A channel's attributes, oldest key first (none for an unknown channel). */
  getChannelAttributes(channel: string): Promise<StoredChannelAttribute[]>;

  /** Periodic housekeeping (expired de-dup entries, old ended-session records). */
  sweep(now: number): Promise<void>;
  close(): Promise<void>;
}
