/**
 * The store shared by every node that points at one Redis. Loaded only when asked for
 * (`createRtmServer({ redis })` imports it dynamically), so the in-memory default and the browser
 * bundle never pull in the Redis client.
 *
 * Layout (prefix `rtm:` by default): a uid's keys share the hash tag `{u:<uid>}` and a channel's
 * `{c:<name>}`, so a Redis Cluster keeps each on one slot and every script below stays on one
 * slot. Peer inboxes and channel histories are streams with entry ids `<seq>-1`; seq counters
 * are separate keys, so trimming or clearing a stream never lets a seq repeat. What spans a uid
 * and a channel (membership both ways) is decided on the channel's set and then mirrored on the
 * uid's, each step atomic and idempotent.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  ATTRIBUTES_UPDATE,
  CHANNEL_APPEND,
  CHANNEL_ATTRIBUTES_CHANGE,
  CHANNEL_JOIN,
  CHANNEL_LEAVE,
  CHANNEL_HISTORY,
  CHANNEL_TRIM,
  EPOCH,
  INBOX_APPEND,
  INBOX_EXPIRE,
  INBOX_REMOVE,
  NODE_SEEN,
  SESSION_AWAY,
  SESSION_CLAIM,
  SWEEPER_LEASE,
  SESSION_END,
  SESSION_PUT,
  type ScriptSource,
} from './redis-scripts.js';
import type {
  ChannelAttributesChange,
  ChannelHistoryPage,
  ChannelHistoryQuery,
  EndedSession,
  InboxAppendResult,
  InboxBounds,
  InboxRefusal,
  ReplayTruncation,
  RtmStore,
  SendOutcome,
  ChannelBounds,
  SessionClaim,
  SessionPut,
  SessionRecord,
  StoredChannelAttribute,
  StoredChannelMessage,
  StoredPeerMessage,
} from './store.js';
import { peerMessageBytes } from './store.js';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Put before every key, so that several deployments (or tests) can share one Redis. Default `rtm:`. */
  keyPrefix?: string;
  /**
   * Whose clock stamps stored messages and decides their age: `'redis'` (default) asks Redis
   * (`TIME`) inside the scripts, so nodes with skewed clocks agree; `'caller'` uses the `ts` and
   * `now` the server passes, as the in-memory store does (for tests that drive time by hand).
   */
  clock?: 'redis' | 'caller';
  /** How long the reason a session ended is remembered for resume answers. Default 24 h. */
  endedSessionsTtlMs?: number;
  /**
   * A channel without members keeps its attributes this long after its last member left or its
   * last attribute change, whichever is later (Redis expires them). Default 2 min, as MemoryStore.
   */
  emptyChannelAttributesTtlMs?: number;
  /** Told about connection errors (once connected, the client reconnects by itself; commands wait meanwhile). */
  onError?: (error: unknown) => void;
  /** How long the first connection may take before `createRedisStore` fails. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Publish every stored channel and peer message from the script that stores it, for the node
   * bus (`RedisBus`) of a cluster node. Off for a store used alone.
   */
  live?: boolean;
}

/** A message of a live feed, as the append scripts (and `publishMember`) publish it. */
export type LiveFeedItem =
  | { kind: 'channel'; message: StoredChannelMessage }
  | { kind: 'peer'; message: StoredPeerMessage }
  | { kind: 'member'; uid: string; joined: boolean };

/** The part of the node-redis client this store uses. */
export interface RedisConnection {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error' | 'ready' | 'end', listener: (error: unknown) => void): unknown;
  duplicate(): RedisConnection;
  readonly isReady: boolean;
  subscribe(channels: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channels: string): Promise<void>;
  sSubscribe(channels: string, listener: (message: string) => void): Promise<void>;
  sUnsubscribe(channels: string): Promise<void>;
}

type Reply = string | number | null | Reply[];

/** Connects to Redis and answers once the connection is up. */
export async function createRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  checkPrefix(options.keyPrefix);
  const { createClient } = await import('redis');
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const startedAt = Date.now();
  let connected = false;
  const client = createClient({
    url: options.url,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Before the first connection: retry until the deadline, then fail the start. After it:
      // back off up to 2 s and keep trying, since a Redis restart should not end the server.
      reconnectStrategy: (retries: number, cause: Error) =>
        !connected && Date.now() - startedAt > connectTimeoutMs ? cause : Math.min(2000, 50 * 2 ** Math.min(retries, 6)),
    },
  }) as unknown as RedisConnection;
  client.on('error', options.onError ?? (() => undefined));
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    client.destroy();
    throw error;
  }
  const store = new RedisStore(client, options);
  if (options.live) await store.detectShardedPubSub();
  return store;
}

export class RedisStore implements RtmStore {
  private readonly prefix: string;
  private readonly callerClock: boolean;
  private readonly endedTtlMs: number;
  private readonly emptyChannelTtlMs: number;
  private readonly shas = new Map<ScriptSource, string>();
  private readonly live: boolean;
  /** Sharded pub/sub (Redis ≥ 7) carries channel feeds when the server has it (see detectShardedPubSub). */
  sharded = false;

  constructor(
    /** The connection; the node bus opens its own beside it with `duplicate()`. */
    readonly client: RedisConnection,
    options: Omit<RedisStoreOptions, 'url'> = {},
  ) {
    this.live = options.live ?? false;
    this.prefix = checkPrefix(options.keyPrefix);
    this.callerClock = (options.clock ?? 'redis') === 'caller';
    this.endedTtlMs = Math.max(1, Math.round(options.endedSessionsTtlMs ?? 24 * 60 * 60 * 1000));
    this.emptyChannelTtlMs = Math.max(1, Math.round(options.emptyChannelAttributesTtlMs ?? 2 * 60 * 1000));
  }

  // ---- live feeds and control streams (the node bus) ----

  /** Asks the server whether it has SPUBLISH (Redis ≥ 7); channel feeds use it then, else PUBLISH. */
  async detectShardedPubSub(): Promise<void> {
    const info = (await this.command('COMMAND', 'INFO', 'SPUBLISH')) as unknown[];
    this.sharded = Array.isArray(info) && info[0] != null;
  }

  /** The pub/sub channel of a channel's live messages and member events (on the channel's slot). */
  channelFeed(channel: string): string {
    return this.channelKey(channel, 'live');
  }

  /** The pub/sub channel that carries peer messages to the node holding their recipient. */
  nodeFeed(node: string): string {
    return `${this.prefix}{n:${node}}:live`;
  }

  /** The pub/sub channel every node listens on for notices (presence, channel attributes). */
  noticeFeed(): string {
    return `${this.prefix}{index}:notices`;
  }

  /** A node's control stream: kicks and claims for it, read with XREAD, kept a while if it is gone. */
  controlStream(node: string): string {
    return `${this.prefix}{n:${node}}:control`;
  }

  async publishMember(channel: string, uid: string, joined: boolean): Promise<void> {
    await this.command(this.sharded ? 'SPUBLISH' : 'PUBLISH', this.channelFeed(channel), `m${joined ? 1 : 0}${uid}`);
  }

  /** Appends to a node's control stream; a stream nobody reads (its node died) goes after a minute. */
  async appendControl(node: string, json: string, keepMs = 60_000): Promise<void> {
    const key = this.controlStream(node);
    await this.command('XADD', key, 'MAXLEN', '~', '10000', '*', 'm', json);
    await this.command('PEXPIRE', key, String(keepMs));
  }

  /** Reads a live feed message back. */
  static parseFeed(payload: string, channel?: string): LiveFeedItem | undefined {
    const tag = payload[0];
    if (tag === 'm') return channel === undefined ? undefined : { kind: 'member', joined: payload[1] === '1', uid: payload.slice(2) };
    const first = payload.indexOf('\n');
    const second = payload.indexOf('\n', first + 1);
    if (first < 0 || second < 0) return undefined;
    const seq = Number(payload.slice(1, first));
    const ts = Number(payload.slice(first + 1, second));
    const rest = JSON.parse(payload.slice(second + 1)) as Record<string, unknown>;
    if (tag === 'c') return { kind: 'channel', message: { ...(rest as Omit<StoredChannelMessage, 'seq' | 'ts'>), seq, ts } };
    if (tag === 'p') return { kind: 'peer', message: { ...(rest as Omit<StoredPeerMessage, 'seq' | 'ts'>), seq, ts } };
    return undefined;
  }

  // ---- keys ----

  private key(name: string): string {
    return this.prefix + name;
  }

  private uidKey(uid: string, part: string): string {
    return `${this.prefix}{u:${uid}}:${part}`;
  }

  private channelKey(channel: string, part: string): string {
    return `${this.prefix}{c:${channel}}:${part}`;
  }

  // ---- commands ----

  private command(...args: string[]): Promise<Reply> {
    return this.client.sendCommand(args) as Promise<Reply>;
  }

  /** EVALSHA, loading the script on first use and again after Redis forgot it (restart, SCRIPT FLUSH). */
  private async run(script: ScriptSource, keys: string[], args: Array<string | number>): Promise<Reply> {
    let sha = this.shas.get(script);
    if (!sha) {
      sha = createHash('sha1').update(script.body).digest('hex');
      this.shas.set(script, sha);
    }
    const tail = [String(script.keys), ...keys, ...args.map(String)];
    try {
      return await this.command('EVALSHA', sha, ...tail);
    } catch (error) {
      if (!String((error as Error)?.message ?? error).startsWith('NOSCRIPT')) throw error;
      return this.command('EVAL', script.body, ...tail);
    }
  }

  /** The `now` argument of a script: '' lets Redis decide. */
  private now(callerTime: number): string {
    return this.callerClock ? String(callerTime) : '';
  }

  // ---- epoch ----

  async epoch(): Promise<string> {
    return String(await this.run(EPOCH, [this.key('epoch')], [randomBytes(9).toString('base64url')]));
  }

  // ---- sessions, presence, accounts ----

  async getSession(uid: string): Promise<SessionRecord | undefined> {
    const [sessionId, startedAt, node, away] = (await this.command('HMGET', this.uidKey(uid, 'session'), 'id', 'start', 'node', 'away')) as Array<
      string | null
    >;
    if (sessionId == null || startedAt == null) return undefined;
    return { uid, sessionId, startedAt: Number(startedAt), ...(node == null ? {} : { node }), ...(away == null ? {} : { awaySince: Number(away) }) };
  }

  /** The live session with its generation (for the sweeper). */
  async sessionState(uid: string): Promise<(SessionRecord & { generation: number }) | undefined> {
    const [sessionId, startedAt, node, away, gen] = (await this.command('HMGET', this.uidKey(uid, 'session'), 'id', 'start', 'node', 'away', 'gen')) as Array<
      string | null
    >;
    if (sessionId == null || startedAt == null) return undefined;
    return {
      uid,
      sessionId,
      startedAt: Number(startedAt),
      generation: Number(gen ?? 0),
      ...(node == null ? {} : { node }),
      ...(away == null ? {} : { awaySince: Number(away) }),
    };
  }

  async markAway(uid: string, sessionId: string, generation: number, away: boolean): Promise<boolean> {
    return (await this.run(SESSION_AWAY, [this.uidKey(uid, 'session')], [sessionId, generation, away ? '1' : '0'])) === 1;
  }

  // ---- node leases (the sweeper of a cluster) ----

  private nodeKey(node: string, part: string): string {
    return `${this.prefix}{n:${node}}:${part}`;
  }

  /** The node is alive for `ttlMs` more (its lease), and was seen now (by Redis's clock). */
  async renewNode(node: string, ttlMs: number): Promise<void> {
    await this.command('SET', this.nodeKey(node, 'lease'), '1', 'PX', String(ttlMs));
    await this.run(NODE_SEEN, [this.key('{index}:nodes')], [node]);
  }

  /** Every node that ever renewed and has not been swept, with when it was last seen (Redis time, ms). */
  async knownNodes(): Promise<Array<{ node: string; seenAt: number }>> {
    const flat = (await this.command('HGETALL', this.key('{index}:nodes'))) as string[] | Record<string, string>;
    const pairs = Array.isArray(flat) ? Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]) : Object.entries(flat);
    return pairs.map(([node, seenAt]) => ({ node: node!, seenAt: Number(seenAt) }));
  }

  async nodeAlive(node: string): Promise<boolean> {
    return (await this.command('EXISTS', this.nodeKey(node, 'lease'))) === 1;
  }

  /** The uids whose sessions named this node (a superset: entries are checked against the session). */
  async nodeSessions(node: string): Promise<string[]> {
    return (await this.command('SMEMBERS', this.nodeKey(node, 'sessions'))) as string[];
  }

  async forgetNodeSession(node: string, uid: string): Promise<void> {
    await this.command('SREM', this.nodeKey(node, 'sessions'), uid);
  }

  /** A swept node with no sessions left leaves the index. */
  async forgetNode(node: string): Promise<void> {
    await this.command('DEL', this.nodeKey(node, 'sessions'));
    await this.command('HDEL', this.key('{index}:nodes'), node);
  }

  /** Takes or keeps the sweeper lease; true when this node holds it. */
  async holdSweeperLease(node: string, ttlMs: number): Promise<boolean> {
    return (await this.run(SWEEPER_LEASE, [this.key('{index}:sweeper')], [node, String(ttlMs)])) === 1;
  }

  /** Redis's clock (ms). */
  async time(): Promise<number> {
    const [seconds, micros] = (await this.command('TIME')) as [string, string];
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async putSession(record: SessionRecord): Promise<SessionPut> {
    const { uid } = record;
    const [generation, id, start, node] = (await this.run(
      SESSION_PUT,
      [this.uidKey(uid, 'session'), this.uidKey(uid, 'generation')],
      [record.sessionId, record.startedAt, record.node ?? ''],
    )) as [string, string, string, string];
    if (record.node) await this.command('SADD', this.nodeKey(record.node, 'sessions'), uid);
    if (id === '') return { generation: Number(generation) };
    return { generation: Number(generation), replaced: { uid, sessionId: id, startedAt: Number(start), ...(node === '' ? {} : { node }) } };
  }

  async claimSession(uid: string, sessionId: string, node: string): Promise<SessionClaim | undefined> {
    const reply = (await this.run(SESSION_CLAIM, [this.uidKey(uid, 'session'), this.uidKey(uid, 'generation')], [sessionId, node])) as
      | [string, string]
      | string;
    if (!Array.isArray(reply)) return undefined;
    if (node) await this.command('SADD', this.nodeKey(node, 'sessions'), uid);
    const [generation, previousNode] = reply;
    return previousNode === '' ? { generation: Number(generation) } : { generation: Number(generation), previousNode };
  }

  /** How many sessions and claims this uid has had (kept after a session ends). */
  async sessionGeneration(uid: string): Promise<number> {
    return Number((await this.command('GET', this.uidKey(uid, 'generation'))) ?? 0);
  }

  async endSession(uid: string, sessionId: string, ended: EndedSession, generation?: number): Promise<boolean> {
    const reply = await this.run(
      SESSION_END,
      [this.uidKey(uid, 'session'), this.endedKey(uid, sessionId)],
      [sessionId, generation === undefined ? '' : String(generation), JSON.stringify(ended), this.endedTtlMs],
    );
    return reply === 1;
  }

  /** On the uid's slot, so that ending a session is one script. */
  private endedKey(uid: string, sessionId: string): string {
    return this.uidKey(uid, `ended:${sessionId}`);
  }

  async getEndedSession(uid: string, sessionId: string): Promise<EndedSession | undefined> {
    const raw = await this.command('GET', this.endedKey(uid, sessionId));
    return typeof raw === 'string' ? (JSON.parse(raw) as EndedSession) : undefined;
  }

  async areOnline(uids: readonly string[]): Promise<boolean[]> {
    const found = await Promise.all(uids.map((uid) => this.command('EXISTS', this.uidKey(uid, 'session'))));
    return found.map((n) => n === 1);
  }

  async setLoggedIn(uid: string, loggedIn: boolean): Promise<void> {
    await (loggedIn ? this.command('SET', this.uidKey(uid, 'loggedin'), '1') : this.command('DEL', this.uidKey(uid, 'loggedin')));
  }

  async isLoggedIn(uid: string): Promise<boolean> {
    return (await this.command('EXISTS', this.uidKey(uid, 'loggedin'))) === 1;
  }

  async ban(uid: string): Promise<void> {
    await this.command('SET', this.uidKey(uid, 'banned'), '1');
  }

  async unban(uid: string): Promise<void> {
    await this.command('DEL', this.uidKey(uid, 'banned'));
  }

  async isBanned(uid: string): Promise<boolean> {
    return (await this.command('EXISTS', this.uidKey(uid, 'banned'))) === 1;
  }

  // ---- peer inbox ----

  private inboxKeys(uid: string): { inbox: string; seq: string; dropped: string; usage: string } {
    return {
      inbox: this.uidKey(uid, 'inbox'),
      seq: this.uidKey(uid, 'inbox-seq'),
      dropped: this.uidKey(uid, 'inbox-dropped'),
      usage: this.uidKey(uid, 'inbox-usage'),
    };
  }

  /** The sender's offline-allowance counter is `${prefix}{u:<sender>}:offline`, built in the scripts. */
  private offlineKeyParts(): [string, string] {
    return [`${this.prefix}{u:`, '}:offline'];
  }

  async appendToInbox(message: Omit<StoredPeerMessage, 'seq'>, bounds: InboxBounds): Promise<InboxAppendResult> {
    const { inbox, seq, dropped, usage } = this.inboxKeys(message.to);
    const body = JSON.stringify({ msgId: message.msgId, from: message.from, to: message.to, text: message.text, ...rawOf(message) });
    const optional = (value: number | undefined) => (value === undefined ? '' : bound(value));
    const reply = (await this.run(
      INBOX_APPEND,
      [inbox, seq, dropped, usage, this.uidKey(message.to, 'session'), this.uidKey(message.to, `sent:${bounds.dedup?.key ?? ''}`)],
      [
        this.now(message.ts),
        bound(bounds.maxMessages),
        bound(bounds.maxAgeMs),
        message.from,
        body,
        String(peerMessageBytes(message)),
        optional(bounds.maxBytes),
        optional(bounds.maxMessagesPerSender),
        optional(bounds.maxBytesPerSender),
        optional(bounds.offlineMaxBytesPerSender),
        ...this.offlineKeyParts(),
        ...(this.live ? [`${this.prefix}{n:`, '}:live'] : ['', '']),
        bounds.dedup ? String(Math.max(1, Math.round(bounds.dedup.ttlMs))) : '',
      ],
    )) as string[];
    // The index lets expireInboxes find every inbox (its own slot, so a separate command).
    await this.command('SADD', this.key('{index}:inboxes'), message.to);
    const expired = peerMessages(reply.slice(4));
    const storedSeq = Number(reply[0]);
    const duplicate = reply[3] === '1' ? ({ duplicate: true } as const) : {};
    if (storedSeq === 0) return { stored: null, reason: reply[2] as InboxRefusal, expired, ...duplicate };
    return { stored: { ...message, seq: storedSeq, ts: Number(reply[1]) }, expired, ...duplicate };
  }

  async readInbox(uid: string, afterSeq: number): Promise<StoredPeerMessage[]> {
    const entries = (await this.command('XRANGE', this.inboxKeys(uid).inbox, firstIdAfter(afterSeq), '+')) as StreamEntry[];
    return peerMessages(flatten(entries));
  }

  async inboxDropCount(uid: string): Promise<number> {
    return Number((await this.command('GET', this.inboxKeys(uid).dropped)) ?? 0);
  }

  async ackInbox(uid: string, upToSeq: number): Promise<void> {
    const upTo = Math.floor(upToSeq);
    if (!(upTo >= 1)) return;
    const { inbox, usage } = this.inboxKeys(uid);
    await this.run(INBOX_REMOVE, [inbox, usage], [String(upTo), ...this.offlineKeyParts()]);
  }

  async clearInbox(uid: string): Promise<void> {
    // The seq counter is another key: seqs never repeat for this uid.
    const { inbox, usage } = this.inboxKeys(uid);
    await this.run(INBOX_REMOVE, [inbox, usage], ['', ...this.offlineKeyParts()]);
  }

  async expireInboxes(now: number, maxAgeMs: number): Promise<StoredPeerMessage[]> {
    const dropped: StoredPeerMessage[] = [];
    for await (const uid of this.scan(this.key('{index}:inboxes'))) {
      const { inbox, dropped: counter, usage } = this.inboxKeys(uid);
      const reply = (await this.run(INBOX_EXPIRE, [inbox, counter, usage], [this.now(now), bound(maxAgeMs), ...this.offlineKeyParts()])) as string[];
      dropped.push(...peerMessages(reply));
    }
    return dropped;
  }

  private async *scan(setKey: string): AsyncGenerator<string> {
    let cursor = '0';
    do {
      const [next, members] = (await this.command('SSCAN', setKey, cursor, 'COUNT', '256')) as [string, string[]];
      cursor = next;
      yield* members;
    } while (cursor !== '0');
  }

  // ---- send de-duplication ----

  private sendKey(key: string): string {
    return `${this.prefix}{d:${key}}`;
  }

  async recallSend(key: string): Promise<SendOutcome | undefined> {
    const raw = await this.command('GET', this.sendKey(key));
    return typeof raw === 'string' ? (JSON.parse(raw) as SendOutcome) : undefined;
  }

  async rememberSend(key: string, outcome: SendOutcome, ttlMs: number): Promise<void> {
    const ttl = Math.round(ttlMs);
    // Redis expires the entry by its own clock.
    if (!(ttl >= 1)) await this.command('DEL', this.sendKey(key));
    else await this.command('SET', this.sendKey(key), JSON.stringify(outcome), 'PX', String(ttl));
  }

  // ---- channels ----

  async joinChannel(channel: string, uid: string): Promise<boolean> {
    const added = (await this.run(CHANNEL_JOIN, [this.channelKey(channel, 'members'), this.channelKey(channel, 'attributes')], [uid])) === 1;
    await this.command('SADD', this.uidKey(uid, 'channels'), channel);
    await this.command('SADD', this.key('{index}:channels'), channel);
    return added;
  }

  async leaveChannel(channel: string, uid: string): Promise<boolean> {
    const removed =
      (await this.run(CHANNEL_LEAVE, [this.channelKey(channel, 'members'), this.channelKey(channel, 'attributes')], [uid, this.emptyChannelTtlMs])) === 1;
    await this.command('SREM', this.uidKey(uid, 'channels'), channel);
    return removed;
  }

  async channelMembers(channel: string): Promise<string[]> {
    return (await this.command('SMEMBERS', this.channelKey(channel, 'members'))) as string[];
  }

  async channelMemberCount(channel: string): Promise<number> {
    return Number(await this.command('SCARD', this.channelKey(channel, 'members')));
  }

  async channelsOf(uid: string): Promise<string[]> {
    return (await this.command('SMEMBERS', this.uidKey(uid, 'channels'))) as string[];
  }

  async appendToChannel(message: Omit<StoredChannelMessage, 'seq'>, bounds: ChannelBounds): Promise<StoredChannelMessage & { duplicate?: true }> {
    const { channel } = message;
    const body = JSON.stringify({ channel, msgId: message.msgId, from: message.from, text: message.text, ...rawOf(message) });
    const [seq, ts, duplicate] = (await this.run(
      CHANNEL_APPEND,
      [
        this.channelKey(channel, 'history'),
        this.channelKey(channel, 'seq'),
        this.channelKey(channel, 'max-age'),
        this.channelKey(channel, `sent:${bounds.dedup?.key ?? ''}`),
      ],
      [
        this.now(message.ts),
        bound(Math.floor(bounds.maxMessages)),
        bound(bounds.maxAgeMs),
        message.from,
        body,
        this.live ? (this.sharded ? 'SPUBLISH' : 'PUBLISH') : '',
        this.channelFeed(channel),
        bounds.dedup ? String(Math.max(1, Math.round(bounds.dedup.ttlMs))) : '',
      ],
    )) as [string, string, string];
    await this.command('SADD', this.key('{index}:channels'), channel);
    return { ...message, seq: Number(seq), ts: Number(ts), ...(duplicate === '1' ? { duplicate: true as const } : {}) };
  }

  async channelHistory(channel: string, query: ChannelHistoryQuery): Promise<ChannelHistoryPage> {
    const afterSeq = Math.max(0, Math.floor(query.afterSeq));
    const reply = (await this.run(
      CHANNEL_HISTORY,
      [this.channelKey(channel, 'history'), this.channelKey(channel, 'seq')],
      [
        firstIdAfter(afterSeq),
        afterSeq,
        bound(query.sinceTs),
        query.excludeFrom === undefined ? '0' : '1',
        query.excludeFrom ?? '',
        bound(Math.max(0, Math.floor(query.max))),
      ],
    )) as string[];
    const messages: StoredChannelMessage[] = [];
    const flat = reply.slice(2);
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const rest = JSON.parse(flat[i + 2]!) as Omit<StoredChannelMessage, 'seq' | 'ts'>;
      messages.push({ ...rest, seq: Number(flat[i]), ts: Number(flat[i + 1]) });
    }
    const truncatedBy = reply[1] === '' ? null : (reply[1] as ReplayTruncation);
    return { messages: messages.reverse(), skipped: Number(reply[0]), truncatedBy };
  }

  async lastChannelSeq(channel: string): Promise<number> {
    return Number((await this.command('GET', this.channelKey(channel, 'seq'))) ?? 0);
  }

  // ---- user attributes ----

  async setAttributes(uid: string, attrs: ReadonlyArray<readonly [string, string]>): Promise<void> {
    await this.command('SET', this.uidKey(uid, 'attributes'), JSON.stringify(attrs));
  }

  async getAttributes(uid: string): Promise<Array<[string, string]>> {
    const raw = await this.command('GET', this.uidKey(uid, 'attributes'));
    return typeof raw === 'string' ? (JSON.parse(raw) as Array<[string, string]>) : [];
  }

  async deleteAttributes(uid: string): Promise<void> {
    await this.command('DEL', this.uidKey(uid, 'attributes'));
  }

  // ---- Agora RTM 1.x compatibility (issue 14.2) ----

  async updateAttributes(
    uid: string,
    change: { set: ReadonlyArray<readonly [string, string]>; remove: readonly string[] },
    maxAttributes: number,
  ): Promise<boolean> {
    const argument = JSON.stringify({ set: change.set, remove: change.remove });
    return (await this.run(ATTRIBUTES_UPDATE, [this.uidKey(uid, 'attributes')], [argument, bound(maxAttributes)])) === 1;
  }

  async changeChannelAttributes(
    channel: string,
    change: ChannelAttributesChange,
    maxAttributes: number,
  ): Promise<StoredChannelAttribute[] | null> {
    const argument = JSON.stringify({ clear: change.clear, remove: change.remove, set: change.set, by: change.by, ts: change.ts });
    const reply = await this.run(
      CHANNEL_ATTRIBUTES_CHANGE,
      [this.channelKey(channel, 'attributes'), this.channelKey(channel, 'members')],
      [argument, bound(maxAttributes), this.emptyChannelTtlMs],
    );
    return reply === '' ? null : channelAttributes(reply as string);
  }

  async getChannelAttributes(channel: string): Promise<StoredChannelAttribute[]> {
    const raw = await this.command('GET', this.channelKey(channel, 'attributes'));
    return typeof raw === 'string' ? channelAttributes(raw) : [];
  }

  /** De-dup entries and ended-session records expire by Redis TTL; quiet channels are trimmed by age here. */
  async sweep(now: number): Promise<void> {
    for await (const channel of this.scan(this.key('{index}:channels'))) {
      await this.run(CHANNEL_TRIM, [this.channelKey(channel, 'history'), this.channelKey(channel, 'max-age')], [this.now(now)]);
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}

type StreamEntry = [string, string[]];

function rawOf(message: { raw?: string }): { raw?: string } {
  return message.raw === undefined ? {} : { raw: message.raw };
}

/** Lua's cjson writes an empty list as {}; the scripts store none, but read both. */
function channelAttributes(json: string): StoredChannelAttribute[] {
  const parsed = JSON.parse(json) as StoredChannelAttribute[] | Record<string, never>;
  if (!Array.isArray(parsed)) return [];
  return parsed.map(({ key, value, by, ts }) => ({ key, value, by, ts: Number(ts) }));
}

function checkPrefix(prefix = 'rtm:'): string {
  if (/[{}]/.test(prefix)) throw new RangeError('keyPrefix must not contain { or } (they make Redis Cluster hash tags)');
  return prefix;
}

/** A stream range start just after `seq`: entry ids are `<seq>-1`. */
function firstIdAfter(seq: number): string {
  return `${Math.max(0, Math.floor(seq)) + 1}-0`;
}

/** A bound as a script argument: finite, so that Lua's tonumber reads it. */
function bound(value: number): string {
  return String(Number.isFinite(value) ? value : value > 0 ? 1e300 : -1e300);
}

/** Stream entries as the scripts' flat triples: seq, ts, JSON. */
function flatten(entries: StreamEntry[]): string[] {
  const flat: string[] = [];
  for (const [id, fields] of entries) {
    let ts = '';
    let json = '';
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 't') ts = fields[i + 1]!;
      else if (fields[i] === 'j') json = fields[i + 1]!;
    }
    flat.push(id.slice(0, id.indexOf('-')), ts, json);
  }
  return flat;
}

function peerMessages(flat: string[]): StoredPeerMessage[] {
  const messages: StoredPeerMessage[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const rest = JSON.parse(flat[i + 2]!) as Omit<StoredPeerMessage, 'seq' | 'ts'>;
    messages.push({ ...rest, seq: Number(flat[i]), ts: Number(flat[i + 1]) });
  }
  return messages;
}
