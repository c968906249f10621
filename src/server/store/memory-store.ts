/**
 * The store for one node: Maps and arrays, no prototype-keyed objects (user input never becomes
 * an object key). Methods are `async` only to honour the interface; each runs to completion
 * without awaiting, so each is atomic.
 */
import { randomBytes } from 'node:crypto';
import type {
  ChannelAttributesChange,
  ChannelHistoryPage,
  ChannelHistoryQuery,
  EndedSession,
  InboxAppendResult,
  InboxBounds,
  InboxRefusal,
  RtmStore,
  SendOutcome,
  AppendDedup,
  ChannelBounds,
  SessionClaim,
  SessionPut,
  SessionRecord,
  StoredChannelAttribute,
  StoredChannelMessage,
  StoredPeerMessage,
} from './store.js';
import { peerMessageBytes } from './store.js';

/** What an append that claimed a de-dup key did: stored with this seq and time, or refused. */
type Appended = { seq: number; ts: number } | { refusal: InboxRefusal };

interface Inbox {
  nextSeq: number;
  messages: StoredPeerMessage[];
  /** Messages for this uid refused (by any bound) or dropped unread (aged out), ever. */
  dropped: number;
  /** Sum of peerMessageBytes over `messages`. */
  bytes: number;
  /** What each sender holds in `messages`. */
  bySender: Map<string, { messages: number; bytes: number }>;
}

interface ChannelState {
  /** Kept for the life of the store even when the channel empties: seqs never repeat. */
  nextSeq: number;
  members: Set<string>;
  history: StoredChannelMessage[];
  /** The age bound of the last append, so that the sweep can trim quiet channels too. */
  maxAgeMs: number;
  /** When the last member left (0 while it has members): empty channels lose their attributes (14.2). */
  emptySince: number;
}

export interface MemoryStoreOptions {
  /** Ended-session records kept for resume answers (oldest forgotten first). Default 100 000. */
  endedSessionsMax?: number;
  /** …and for how long. Default 24 h. */
  endedSessionsTtlMs?: number;
  /**
   * A channel without members keeps its attributes this long after its last member left or its
   * last attribute change, whichever is later, as Agora RTM clears them "after a couple of
   * minutes" (14.2). It bounds what users who join nothing can leave behind. Default 2 min.
   */
  emptyChannelAttributesTtlMs?: number;
}

export class MemoryStore implements RtmStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly ended = new Map<string, EndedSession>();
  /** Per uid with a live session, its generation (what fencing compares; forgotten with the session). */
  private readonly generations = new Map<string, number>();
  private readonly loggedIn = new Set<string>();
  private readonly banned = new Set<string>();
  private readonly inboxes = new Map<string, Inbox>();
  /** Messages stored under a sender's offline allowance (to a recipient not logged in), and each sender's total of them. */
  private readonly offlineHeld = new WeakSet<StoredPeerMessage>();
  private readonly offlineBytes = new Map<string, number>();
  /** Remembered sends by de-dup key; an append that claimed the key keeps what it did here too (`appended`). */
  private readonly sends = new Map<string, { outcome: SendOutcome | null; expiresAt: number; appended?: Appended }>();
  private readonly channels = new Map<string, ChannelState>();
  private readonly memberships = new Map<string, Set<string>>();
  private readonly attributes = new Map<string, Array<[string, string]>>();
  /** Per channel, its attributes by key (a Map keeps insertion order and user keys off prototypes). */
  private readonly channelAttributes = new Map<string, Map<string, StoredChannelAttribute>>();
  private readonly endedSessionsMax: number;
  private readonly endedSessionsTtlMs: number;
  private readonly emptyChannelAttributesTtlMs: number;
  private readonly historyEpoch = randomBytes(9).toString('base64url');

  constructor(options: MemoryStoreOptions = {}) {
    this.endedSessionsMax = options.endedSessionsMax ?? 100_000;
    this.endedSessionsTtlMs = options.endedSessionsTtlMs ?? 24 * 60 * 60 * 1000;
    this.emptyChannelAttributesTtlMs = options.emptyChannelAttributesTtlMs ?? 2 * 60 * 1000;
  }

  async epoch(): Promise<string> {
    return this.historyEpoch;
  }

  // ---- sessions, presence, accounts ----

  async getSession(uid: string): Promise<SessionRecord | undefined> {
    return this.sessions.get(uid);
  }

  async putSession(record: SessionRecord): Promise<SessionPut> {
    const replaced = this.sessions.get(record.uid);
    this.sessions.set(record.uid, { ...record });
    const generation = this.bumpGeneration(record.uid);
    return replaced ? { generation, replaced } : { generation };
  }

  async claimSession(uid: string, sessionId: string, node: string): Promise<SessionClaim | undefined> {
    const live = this.sessions.get(uid);
    if (live?.sessionId !== sessionId) return undefined;
    const previousNode = live.node;
    this.sessions.set(uid, { ...live, node });
    const generation = this.bumpGeneration(uid);
    return previousNode === undefined ? { generation } : { generation, previousNode };
  }

  async markAway(uid: string, sessionId: string, generation: number, away: boolean): Promise<boolean> {
    const live = this.sessions.get(uid);
    if (live?.sessionId !== sessionId || this.generations.get(uid) !== generation) return false;
    if (away) live.awaySince = Date.now();
    else delete live.awaySince;
    return true;
  }

  private bumpGeneration(uid: string): number {
    const generation = (this.generations.get(uid) ?? 0) + 1;
    this.generations.set(uid, generation);
    return generation;
  }

  async endSession(uid: string, sessionId: string, ended: EndedSession, generation?: number): Promise<boolean> {
    let removed = false;
    if (this.sessions.get(uid)?.sessionId === sessionId) {
      if (generation !== undefined && generation !== this.generations.get(uid)) return false;
      this.sessions.delete(uid);
      this.generations.delete(uid);
      removed = true;
    }
    this.ended.set(sessionId, { ...ended });
    if (this.ended.size > this.endedSessionsMax) {
      const oldest = this.ended.keys().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
    return removed;
  }

  async getEndedSession(uid: string, sessionId: string): Promise<EndedSession | undefined> {
    const ended = this.ended.get(sessionId);
    return ended?.uid === uid ? ended : undefined;
  }

  async areOnline(uids: readonly string[]): Promise<boolean[]> {
    return uids.map((uid) => this.sessions.has(uid));
  }

  async setLoggedIn(uid: string, loggedIn: boolean): Promise<void> {
    if (loggedIn) this.loggedIn.add(uid);
    else this.loggedIn.delete(uid);
  }

  async isLoggedIn(uid: string): Promise<boolean> {
    return this.loggedIn.has(uid);
  }

  async ban(uid: string): Promise<void> {
    this.banned.add(uid);
  }

  async unban(uid: string): Promise<void> {
    this.banned.delete(uid);
  }

  async isBanned(uid: string): Promise<boolean> {
    return this.banned.has(uid);
  }

  // ---- peer inbox ----

  async appendToInbox(message: Omit<StoredPeerMessage, 'seq'>, bounds: InboxBounds): Promise<InboxAppendResult> {
    const earlier = this.claimed(bounds.dedup);
    if (earlier) {
      return 'refusal' in earlier
        ? { stored: null, reason: earlier.refusal, expired: [], duplicate: true }
        : { stored: { ...message, ...earlier }, expired: [], duplicate: true };
    }
    let inbox = this.inboxes.get(message.to);
    if (!inbox) {
      inbox = { nextSeq: 1, messages: [], dropped: 0, bytes: 0, bySender: new Map() };
      this.inboxes.set(message.to, inbox);
    }
    const expired = this.removed(inbox, dropOlderThan(inbox.messages, message.ts - bounds.maxAgeMs));
    inbox.dropped += expired.length;
    const bytes = peerMessageBytes(message);
    const mine = inbox.bySender.get(message.from) ?? { messages: 0, bytes: 0 };
    const refuse = (reason: InboxRefusal): InboxAppendResult => {
      inbox.dropped += 1;
      this.claim(bounds.dedup, { refusal: reason });
      return { stored: null, reason, expired };
    };
    if (inbox.messages.length >= bounds.maxMessages || inbox.bytes + bytes > (bounds.maxBytes ?? Infinity)) return refuse('INBOX_FULL');
    if (mine.messages >= (bounds.maxMessagesPerSender ?? Infinity) || mine.bytes + bytes > (bounds.maxBytesPerSender ?? Infinity)) {
      return refuse('SENDER_SHARE');
    }
    const offline = bounds.offlineMaxBytesPerSender !== undefined;
    const offlineTotal = this.offlineBytes.get(message.from) ?? 0;
    if (offline && offlineTotal + bytes > bounds.offlineMaxBytesPerSender!) return refuse('OFFLINE_ALLOWANCE');
    const stored: StoredPeerMessage = { ...message, seq: inbox.nextSeq++ };
    inbox.messages.push(stored);
    inbox.bytes += bytes;
    inbox.bySender.set(message.from, { messages: mine.messages + 1, bytes: mine.bytes + bytes });
    if (offline) {
      this.offlineHeld.add(stored);
      this.offlineBytes.set(message.from, offlineTotal + bytes);
    }
    this.claim(bounds.dedup, { seq: stored.seq, ts: stored.ts });
    return { stored, expired };
  }

  async readInbox(uid: string, afterSeq: number): Promise<StoredPeerMessage[]> {
    const messages = this.inboxes.get(uid)?.messages ?? [];
    return messages.filter((m) => m.seq > afterSeq);
  }

  async inboxDropCount(uid: string): Promise<number> {
    return this.inboxes.get(uid)?.dropped ?? 0;
  }

  async ackInbox(uid: string, upToSeq: number): Promise<void> {
    const inbox = this.inboxes.get(uid);
    if (!inbox) return;
    let keep = 0;
    while (keep < inbox.messages.length && inbox.messages[keep]!.seq <= upToSeq) keep++;
    if (keep > 0) this.removed(inbox, inbox.messages.splice(0, keep));
  }

  async clearInbox(uid: string): Promise<void> {
    const inbox = this.inboxes.get(uid);
    // The counter survives so that seqs never repeat for this uid.
    if (inbox) this.removed(inbox, inbox.messages.splice(0));
  }

  async expireInboxes(now: number, maxAgeMs: number): Promise<StoredPeerMessage[]> {
    const dropped: StoredPeerMessage[] = [];
    for (const inbox of this.inboxes.values()) {
      const expired = this.removed(inbox, dropOlderThan(inbox.messages, now - maxAgeMs));
      inbox.dropped += expired.length;
      dropped.push(...expired);
    }
    return dropped;
  }

  /** Takes messages just removed from `inbox` off its byte and per-sender tallies; returns them. */
  private removed(inbox: Inbox, messages: StoredPeerMessage[]): StoredPeerMessage[] {
    for (const message of messages) {
      const bytes = peerMessageBytes(message);
      inbox.bytes -= bytes;
      const held = inbox.bySender.get(message.from);
      if (held) {
        held.messages -= 1;
        held.bytes -= bytes;
        if (held.messages === 0) inbox.bySender.delete(message.from);
      }
      if (this.offlineHeld.delete(message)) {
        const total = (this.offlineBytes.get(message.from) ?? 0) - bytes;
        if (total > 0) this.offlineBytes.set(message.from, total);
        else this.offlineBytes.delete(message.from);
      }
    }
    return messages;
  }

  // ---- send de-duplication ----

  async recallSend(key: string): Promise<SendOutcome | undefined> {
    const entry = this.sends.get(key);
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    return entry.outcome ?? undefined;
  }

  async rememberSend(key: string, outcome: SendOutcome, ttlMs: number): Promise<void> {
    const appended = this.sends.get(key)?.appended;
    // Re-inserting keeps the Map ordered by expiry, so the sweep can stop at the first live entry.
    this.sends.delete(key);
    this.sends.set(key, { outcome, expiresAt: Date.now() + ttlMs, ...(appended ? { appended } : {}) });
  }

  /** What an earlier append with this de-dup key did, while claimed. */
  private claimed(dedup: AppendDedup | undefined): Appended | undefined {
    if (!dedup) return undefined;
    const entry = this.sends.get(dedup.key);
    return entry && entry.expiresAt > Date.now() ? entry.appended : undefined;
  }

  private claim(dedup: AppendDedup | undefined, appended: Appended): void {
    if (!dedup) return;
    const outcome = this.sends.get(dedup.key)?.outcome ?? null;
    this.sends.delete(dedup.key);
    this.sends.set(dedup.key, { outcome, expiresAt: Date.now() + dedup.ttlMs, appended });
  }

  // ---- channels ----

  private channel(name: string): ChannelState {
    let state = this.channels.get(name);
    if (!state) {
      state = { nextSeq: 1, members: new Set(), history: [], maxAgeMs: Number.POSITIVE_INFINITY, emptySince: 0 };
      this.channels.set(name, state);
    }
    return state;
  }

  async joinChannel(channel: string, uid: string): Promise<boolean> {
    const state = this.channel(channel);
    if (state.members.has(uid)) return false;
    state.members.add(uid);
    let joined = this.memberships.get(uid);
    if (!joined) {
      joined = new Set();
      this.memberships.set(uid, joined);
    }
    joined.add(channel);
    return true;
  }

  async leaveChannel(channel: string, uid: string): Promise<boolean> {
    const state = this.channels.get(channel);
    if (!state?.members.delete(uid)) return false;
    if (state.members.size === 0) state.emptySince = Date.now();
    // A channel nobody is in, that never had a message or attributes, has nothing to keep (no seq,
    // no attributes' empty-channel clock): forget it, so that joining and leaving many channels
    // leaves nothing behind.
    if (state.members.size === 0 && state.nextSeq === 1 && !this.channelAttributes.has(channel)) this.channels.delete(channel);
    const joined = this.memberships.get(uid);
    joined?.delete(channel);
    if (joined?.size === 0) this.memberships.delete(uid);
    return true;
  }

  async channelMembers(channel: string): Promise<string[]> {
    return [...(this.channels.get(channel)?.members ?? [])];
  }

  async channelMemberCount(channel: string): Promise<number> {
    return this.channels.get(channel)?.members.size ?? 0;
  }

  async channelsOf(uid: string): Promise<string[]> {
    return [...(this.memberships.get(uid) ?? [])];
  }

  async appendToChannel(message: Omit<StoredChannelMessage, 'seq'>, bounds: ChannelBounds): Promise<StoredChannelMessage & { duplicate?: true }> {
    const earlier = this.claimed(bounds.dedup);
    if (earlier && 'seq' in earlier) return { ...message, ...earlier, duplicate: true };
    const state = this.channel(message.channel);
    const stored: StoredChannelMessage = { ...message, seq: state.nextSeq++ };
    this.claim(bounds.dedup, { seq: stored.seq, ts: stored.ts });
    const history = state.history;
    state.maxAgeMs = bounds.maxAgeMs;
    history.push(stored);
    dropOlderThan(history, message.ts - bounds.maxAgeMs);
    // Trim in batches so that a busy channel does not shift its array on every message.
    if (history.length > bounds.maxMessages * 2 + 16) history.splice(0, history.length - bounds.maxMessages);
    return stored;
  }

  async lastChannelSeq(channel: string): Promise<number> {
    return (this.channels.get(channel)?.nextSeq ?? 1) - 1;
  }

  async channelHistory(channel: string, query: ChannelHistoryQuery): Promise<ChannelHistoryPage> {
    const state = this.channels.get(channel);
    const history = state?.history ?? [];
    const picked: StoredChannelMessage[] = [];
    // Newest first until enough, then reverse: the most recent `max`, oldest first.
    let i = history.length - 1;
    for (; i >= 0 && picked.length < query.max; i--) {
      const m = history[i]!;
      if (m.seq <= query.afterSeq || m.ts < query.sinceTs) break;
      if (m.from !== query.excludeFrom) picked.push(m);
    }
    // What the bounds left out: others' messages after afterSeq past the cap or the window…
    let beyondCap = 0;
    let beyondWindow = 0;
    for (; i >= 0; i--) {
      const m = history[i]!;
      if (m.seq <= query.afterSeq) break;
      if (m.from === query.excludeFrom) continue;
      if (m.ts < query.sinceTs) beyondWindow++;
      else beyondCap++;
    }
    // …and messages after afterSeq that the history had already dropped by age.
    const oldestKept = history[0]?.seq ?? state?.nextSeq ?? 1;
    const trimmed = i < 0 ? Math.max(0, oldestKept - query.afterSeq - 1) : 0;
    const skipped = beyondCap + beyondWindow + trimmed;
    const truncatedBy = skipped === 0 ? null : beyondCap > 0 ? 'REPLAY_CAP' : 'REPLAY_WINDOW';
    return { messages: picked.reverse(), skipped, truncatedBy };
  }

  // ---- attributes ----

  async setAttributes(uid: string, attrs: ReadonlyArray<readonly [string, string]>): Promise<void> {
    this.attributes.set(
      uid,
      attrs.map(([k, v]) => [k, v]),
    );
  }

  async getAttributes(uid: string): Promise<Array<[string, string]>> {
    return (this.attributes.get(uid) ?? []).map(([k, v]) => [k, v]);
  }

  async deleteAttributes(uid: string): Promise<void> {
    this.attributes.delete(uid);
  }

  // ---- Agora RTM 1.x compatibility (issue 14.2) ----

  async updateAttributes(
    uid: string,
    change: { set: ReadonlyArray<readonly [string, string]>; remove: readonly string[] },
    maxAttributes: number,
  ): Promise<boolean> {
    const next = new Map(this.attributes.get(uid) ?? []);
    for (const key of change.remove) next.delete(key);
    for (const [key, value] of change.set) next.set(key, value);
    if (next.size > maxAttributes) return false;
    if (next.size === 0) this.attributes.delete(uid);
    else this.attributes.set(uid, [...next]);
    return true;
  }

  async changeChannelAttributes(
    channel: string,
    change: ChannelAttributesChange,
    maxAttributes: number,
  ): Promise<StoredChannelAttribute[] | null> {
    const next = change.clear ? new Map<string, StoredChannelAttribute>() : new Map(this.channelAttributes.get(channel));
    for (const key of change.remove) next.delete(key);
    for (const [key, value] of change.set) next.set(key, { key, value, by: change.by, ts: change.ts });
    if (next.size > maxAttributes) return null;
    if (next.size === 0) this.channelAttributes.delete(channel);
    else this.channelAttributes.set(channel, next);
    return [...next.values()].map((attribute) => ({ ...attribute }));
  }

  async getChannelAttributes(channel: string): Promise<StoredChannelAttribute[]> {
    return [...(this.channelAttributes.get(channel)?.values() ?? [])].map((attribute) => ({ ...attribute }));
  }

  async sweep(now: number): Promise<void> {
    for (const [key, entry] of this.sends) {
      if (entry.expiresAt > now) break;
      this.sends.delete(key);
    }
    for (const state of this.channels.values()) {
      if (state.history.length > 0) dropOlderThan(state.history, now - state.maxAgeMs);
    }
    for (const [channel, attributes] of this.channelAttributes) {
      if ((this.channels.get(channel)?.members.size ?? 0) > 0) continue;
      let lastTouched = this.channels.get(channel)?.emptySince ?? 0;
      for (const attribute of attributes.values()) lastTouched = Math.max(lastTouched, attribute.ts);
      if (lastTouched < now - this.emptyChannelAttributesTtlMs) this.channelAttributes.delete(channel);
    }
    for (const [sessionId, ended] of this.ended) {
      if (ended.endedAt > now - this.endedSessionsTtlMs) break;
      this.ended.delete(sessionId);
    }
  }

  async close(): Promise<void> {}
}

/** Removes (in place) the leading messages stamped before `cutoff` and returns them. */
function dropOlderThan<T extends { ts: number }>(messages: T[], cutoff: number): T[] {
  let n = 0;
  while (n < messages.length && messages[n]!.ts < cutoff) n++;
  return n === 0 ? [] : messages.splice(0, n);
}
