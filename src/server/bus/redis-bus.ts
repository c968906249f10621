/**
 * The node bus through Redis (loaded only with `redis`, beside the RedisStore).
 *
 * - Channel messages are published by the store's append script itself (to the channel's feed,
 *   `SPUBLISH` when Redis has sharded pub/sub, else `PUBLISH`), so every node hears a channel's
 *   messages in seq order and none is stored unsent. A node subscribes to the feeds of the
 *   channels it has members in, and delivers to its own sockets only, the sender's node as well.
 *   A node that sees a seq gap (pub/sub lost messages while it reconnected) refills from the
 *   channel's stream before it goes on; a seq it has delivered already is dropped.
 * - Member events go to the same feed, published by the node that the store told the membership
 *   changed (the store answers that once), so each is announced once.
 * - Peer messages are published by the inbox append script to the feed of the node the
 *   recipient's session names (`{n:<id>}:live`).
 * - Notices (presence changes, channel attributes, member counts) are published on one cluster-wide feed that
 *   every node subscribes to, the publisher included; each delivers to its own watchers.
 * - Control messages (kick, claimed) go to the target node's control stream (XADD), read with a
 *   blocking XREAD on a connection of its own: a node that is briefly cut off reads them when
 *   it is back, and they are not lost.
 *
 * Leases. Every node renews its lease (`{n:<id>}:lease`, TTL `leaseMs`) every `renewMs` and
 * records when it was last seen by Redis's clock. One node at a time holds the sweeper lease
 * (`SET NX PX`); it looks for nodes whose lease ran out, and ends each of their sessions whose
 * presence window ran out: counted from the session's `away` mark, or from when its node was
 * last seen for one that was attached. The end is the store's generation-checked script, so a
 * session some node resumed meanwhile is left alone, and only the one caller it answers
 * announces the MemberLeft events.
 *
 * Fail closed. A node that has not renewed its lease for `fenceAfterMs` (Redis unreachable or
 * stopped) tells its listener it is fenced, and unfenced once a renewal succeeds again.
 *
 * A new history. Each renewal also reads the store's epoch (creating it if Redis came back
 * empty: the first node to ask names the new history). An epoch other than the one this node
 * knew means nothing it holds is in the store any more: it forgets its channel feeds (their
 * seqs belong to the old history) and tells its listener, which lets its sessions go.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RtmLogger } from '../logger.js';
import { RedisStore, type RedisConnection } from '../store/redis-store.js';
import type { StoredChannelMessage } from '../store/store.js';
import type { BusListener, ControlMessage, NodeBus, Notice } from './node-bus.js';

type StreamEntries = Array<[string, string[]]>;

/** How many missed messages one refill reads at most (more than the history keeps is pointless). */
const REFILL_MAX = 10_000;

interface Feed {
  /** Highest seq delivered here; undefined until the first message or the baseline read. */
  last: number | undefined;
  /** Delivery in order: a refill in progress makes later messages wait behind it. */
  tail: Promise<void> | null;
  /** Settles once the subscription is in place and the baseline read. */
  ready: Promise<void>;
}

export interface RedisBusOptions {
  nodeId?: string;
  /** The presence window of a session whose node died (R4 across nodes). */
  presenceTimeoutMs: number;
  /** The node's lease TTL. Default 3000 ms. */
  leaseMs?: number;
  /** How often the lease is renewed (and the sweeper runs, on the node holding its lease). Default 1000 ms. */
  renewMs?: number;
  /** A node without a renewal for this long fences itself. Default 3000 ms. */
  fenceAfterMs?: number;
}

export class RedisBus implements NodeBus {
  readonly nodeId: string;
  readonly spansNodes = true;
  private listener: BusListener | null = null;
  private subscriber: RedisConnection | null = null;
  private reader: RedisConnection | null = null;
  private readonly feeds = new Map<string, Feed>();
  private closed = false;
  private readLoop: Promise<void> | null = null;
  private readonly presenceTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly fenceAfterMs: number;
  private renewTimer: NodeJS.Timeout | undefined;
  /** When the lease was last renewed (monotonic clock). */
  private renewedAt = performance.now();
  private renewing = false;
  private sweeping = false;
  /** The history this node serves (RtmStore.epoch), read at start and at every renewal. */
  private epoch: string | undefined;
  private isFenced = false;

  constructor(
    private readonly store: RedisStore,
    private readonly logger: RtmLogger,
    options: RedisBusOptions,
  ) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.presenceTimeoutMs = options.presenceTimeoutMs;
    this.leaseMs = options.leaseMs ?? 3000;
    this.renewMs = options.renewMs ?? 1000;
    this.fenceAfterMs = options.fenceAfterMs ?? 3000;
  }

  async start(listener: BusListener): Promise<void> {
    this.listener = listener;
    const subscriber = this.store.client.duplicate();
    subscriber.on('error', (error) => this.logger.log('warn', 'redis.bus_error', { error: String(error) }));
    await subscriber.connect();
    this.subscriber = subscriber;
    await subscriber.subscribe(this.store.nodeFeed(this.nodeId), (payload) => this.onNodeFeed(payload));
    await subscriber.subscribe(this.store.noticeFeed(), (payload) => this.onNotice(payload));
    const reader = this.store.client.duplicate();
    reader.on('error', (error) => this.logger.log('warn', 'redis.bus_error', { error: String(error) }));
    await reader.connect();
    this.reader = reader;
    this.readLoop = this.readControl(reader);
    [, this.epoch] = await Promise.all([this.store.renewNode(this.nodeId, this.leaseMs), this.store.epoch()]);
    this.renewedAt = performance.now();
    this.renewTimer = setInterval(() => this.tick(), Math.min(this.renewMs / 2, this.fenceAfterMs / 4));
    this.renewTimer.unref();
  }

  // ---- lease, sweeper, fencing ----

  private tick(): void {
    if (this.closed) return;
    const silentFor = performance.now() - this.renewedAt;
    if (!this.isFenced && silentFor > this.fenceAfterMs) {
      this.isFenced = true;
      this.logger.log('error', 'node.fenced', { node: this.nodeId, silentForMs: Math.round(silentFor) });
      this.listener?.fenced(true);
    }
    if (this.renewing || silentFor < this.renewMs * 0.9) return;
    this.renewing = true;
    void this.renew().finally(() => {
      this.renewing = false;
    });
  }

  private async renew(): Promise<void> {
    try {
      // Asked together: one round trip a renewal.
      const [, epoch] = await Promise.all([this.store.renewNode(this.nodeId, this.leaseMs), this.store.epoch()]);
      this.renewedAt = performance.now();
      if (epoch !== this.epoch) this.newHistory(epoch);
      if (this.isFenced) {
        this.isFenced = false;
        this.logger.log('info', 'node.unfenced', { node: this.nodeId });
        this.listener?.fenced(false);
      }
    } catch (error) {
      this.logger.log('warn', 'node.renew_failed', { node: this.nodeId, error: String(error) });
      return;
    }
    // The sweep runs beside the renewals: a long one must not let this node's own lease lapse.
    if (this.sweeping) return;
    this.sweeping = true;
    void (async () => {
      try {
        if (await this.store.holdSweeperLease(this.nodeId, this.leaseMs)) await this.sweep();
      } catch (error) {
        this.logger.log('warn', 'node.sweep_failed', { node: this.nodeId, error: String(error) });
      } finally {
        this.sweeping = false;
      }
    })();
  }

  private newHistory(epoch: string): void {
    this.logger.log('warn', 'node.new_epoch', { node: this.nodeId, was: this.epoch, now: epoch });
    this.epoch = epoch;
    this.listener?.historyReset();
    for (const channel of [...this.feeds.keys()]) this.unwatch(channel);
  }

  /** The sweeper's round: the sessions of dead nodes whose presence window ran out end (once). */
  private async sweep(): Promise<void> {
    const now = await this.store.time();
    for (const { node, seenAt } of await this.store.knownNodes()) {
      if (this.closed) return;
      if (node === this.nodeId || (await this.store.nodeAlive(node))) continue;
      const uids = await this.store.nodeSessions(node);
      let waiting = 0;
      for (const uid of uids) {
        const session = await this.store.sessionState(uid);
        if (!session || session.node !== node) {
          await this.store.forgetNodeSession(node, uid);
          continue;
        }
        // An attached session counts as away from when its node was last seen; and nothing of a
        // node is ended before that node must have fenced itself (it may only be slow).
        if (now - (session.awaySince ?? seenAt) < this.presenceTimeoutMs || now - seenAt < this.fenceAfterMs) {
          waiting++;
          continue;
        }
        await this.listener?.orphanExpired({ uid, sessionId: session.sessionId, generation: session.generation });
        await this.store.forgetNodeSession(node, uid);
      }
      if (waiting === 0) await this.store.forgetNode(node);
    }
  }

  channelMessage(): void {
    // Published by the store's append script (see the module comment).
  }

  memberEvent(channel: string, uid: string, joined: boolean): void {
    this.store.publishMember(channel, uid, joined).catch((error: unknown) => {
      this.logger.log('error', 'bus.publish_failed', { channel, uid, error: String(error) });
    });
  }

  peerMessage(): void {
    // Published by the store's inbox append script to the recipient's node.
  }

  async control(node: string, message: ControlMessage): Promise<void> {
    if (node === this.nodeId) {
      this.listener?.control(message);
      return;
    }
    await this.store.appendControl(node, JSON.stringify(message));
  }

  watch(channel: string): Promise<void> {
    const known = this.feeds.get(channel);
    if (known) return known.ready;
    const subscriber = this.subscriber;
    if (!subscriber) return Promise.resolve();
    const feed: Feed = { last: undefined, tail: null, ready: Promise.resolve() };
    this.feeds.set(channel, feed);
    const name = this.store.channelFeed(channel);
    const onMessage = (payload: string) => this.onChannelFeed(channel, feed, payload);
    feed.ready = (async () => {
      await (this.store.sharded ? subscriber.sSubscribe(name, onMessage) : subscriber.subscribe(name, onMessage));
      // Everything up to here is history for whoever joins now; later seqs arrive on the feed.
      const baseline = await this.store.lastChannelSeq(channel);
      if (feed.last === undefined || feed.last < baseline) feed.last = baseline;
    })();
    return feed.ready;
  }

  unwatch(channel: string): void {
    if (!this.feeds.delete(channel) || !this.subscriber) return;
    const name = this.store.channelFeed(channel);
    const done = this.store.sharded ? this.subscriber.sUnsubscribe(name) : this.subscriber.unsubscribe(name);
    done.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewTimer);
    this.listener = null;
    this.feeds.clear();
    // The reader may be blocked in XREAD: drop its connection rather than wait for the block.
    this.reader?.destroy();
    await this.readLoop?.catch(() => undefined);
    await this.subscriber?.close().catch(() => undefined);
  }

  // ---- delivery ----

  private onNodeFeed(payload: string): void {
    const item = parse(payload);
    if (item?.kind === 'peer') this.listener?.peerMessage(item.message);
  }

  private onChannelFeed(channel: string, feed: Feed, payload: string): void {
    if (this.feeds.get(channel) !== feed) return;
    const item = parse(payload, channel);
    if (!item) return;
    if (item.kind === 'member') {
      this.listener?.memberEvent(channel, item.uid, item.joined);
      return;
    }
    if (item.kind !== 'channel') return;
    const message = item.message;
    const run = feed.tail ? feed.tail.then(() => this.deliverInOrder(channel, feed, message)) : this.deliverInOrder(channel, feed, message);
    if (!run) return;
    const tail: Promise<void> = run.then(() => {
      if (feed.tail === tail) feed.tail = null;
    });
    feed.tail = tail;
  }

  /** Delivers `message` unless it was delivered already; after a gap, refills from the stream first (then answers a promise). */
  private deliverInOrder(channel: string, feed: Feed, message: StoredChannelMessage): Promise<void> | undefined {
    const last = feed.last;
    if (last !== undefined && message.seq <= last) return undefined;
    if (last === undefined || message.seq === last + 1) {
      feed.last = message.seq;
      this.listener?.channelMessage(message);
      return undefined;
    }
    return this.refill(channel, feed, last, message);
  }

  private async refill(channel: string, feed: Feed, last: number, message: StoredChannelMessage): Promise<void> {
    try {
      const page = await this.store.channelHistory(channel, { afterSeq: last, sinceTs: 0, max: Math.min(REFILL_MAX, message.seq - last) });
      this.logger.log('info', 'bus.refilled', { channel, after: last, upTo: message.seq, found: page.messages.length });
      for (const missed of page.messages) {
        if (missed.seq >= message.seq || this.feeds.get(channel) !== feed) break;
        if (feed.last !== undefined && missed.seq <= feed.last) continue;
        feed.last = missed.seq;
        this.listener?.channelMessage(missed);
      }
    } catch (error) {
      this.logger.log('warn', 'bus.refill_failed', { channel, error: String(error) });
    }
    if (feed.last === undefined || message.seq > feed.last) {
      feed.last = message.seq;
      this.listener?.channelMessage(message);
    }
  }

  // ---- notices ----

  notice(notice: Notice): void {
    this.store.client.sendCommand(['PUBLISH', this.store.noticeFeed(), JSON.stringify(notice)]).catch((error: unknown) => {
      this.logger.log('warn', 'bus.notice_failed', { kind: notice.t, error: String(error) });
    });
  }

  private onNotice(payload: string): void {
    let notice: Notice | null = null;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      // below
    }
    if (notice && (notice.t === 'presence' || notice.t === 'channel.attrs' || notice.t === 'channel.count')) this.listener?.notice(notice);
    else this.logger.log('error', 'bus.notice_invalid', { bytes: payload.length });
  }

  // ---- control stream ----

  private async readControl(reader: RedisConnection): Promise<void> {
    const key = this.store.controlStream(this.nodeId);
    let after = '0-0';
    while (!this.closed) {
      let reply: unknown;
      try {
        reply = await reader.sendCommand(['XREAD', 'COUNT', '100', 'BLOCK', '1000', 'STREAMS', key, after]);
      } catch (error) {
        if (this.closed) return;
        this.logger.log('warn', 'bus.control_read_failed', { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (reply == null || typeof reply !== 'object') continue;
      const ids: string[] = [];
      // One stream: [[key, entries]] (RESP2), or { key: entries } as the client maps it.
      const streams = Array.isArray(reply) ? (reply as Array<[string, StreamEntries]>).map(([, entries]) => entries) : Object.values(reply as Record<string, StreamEntries>);
      for (const entries of streams) {
        for (const [id, fields] of entries) {
          after = id;
          ids.push(id);
          const json = fields[fields.indexOf('m') + 1];
          try {
            const message = JSON.parse(json ?? 'null') as ControlMessage | null;
            if (message && typeof message === 'object') this.listener?.control(message);
          } catch {
            this.logger.log('error', 'bus.control_invalid', { id });
          }
        }
      }
      if (ids.length > 0) await this.store.client.sendCommand(['XDEL', key, ...ids]).catch(() => undefined);
    }
  }
}

function parse(payload: string, channel?: string) {
  try {
    return RedisStore.parseFeed(payload, channel);
  } catch {
    return undefined;
  }
}

