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
 * - Control messages (kick, claimed) go to the target node's control stream (XADD), read with a
 *   blocking XREAD on a connection of its own: a node that is briefly cut off reads them when
 *   it is back, and they are not lost.
 */
import { randomBytes } from 'node:crypto';
import type { RtmLogger } from '../logger.js';
import { RedisStore, type RedisConnection } from '../store/redis-store.js';
import type { StoredChannelMessage } from '../store/store.js';
import type { BusListener, ControlMessage, NodeBus } from './node-bus.js';

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

export class RedisBus implements NodeBus {
  readonly nodeId: string;
  readonly spansNodes = true;
  private listener: BusListener | null = null;
  private subscriber: RedisConnection | null = null;
  private reader: RedisConnection | null = null;
  private readonly feeds = new Map<string, Feed>();
  private closed = false;
  private readLoop: Promise<void> | null = null;

  constructor(
    private readonly store: RedisStore,
    private readonly logger: RtmLogger,
    nodeId?: string,
  ) {
    this.nodeId = nodeId ?? randomBytes(6).toString('hex');
  }

  async start(listener: BusListener): Promise<void> {
    this.listener = listener;
    const subscriber = this.store.client.duplicate();
    subscriber.on('error', (error) => this.logger.log('warn', 'redis.bus_error', { error: String(error) }));
    await subscriber.connect();
    this.subscriber = subscriber;
    await subscriber.subscribe(this.store.nodeFeed(this.nodeId), (payload) => this.onNodeFeed(payload));
    const reader = this.store.client.duplicate();
    reader.on('error', (error) => this.logger.log('warn', 'redis.bus_error', { error: String(error) }));
    await reader.connect();
    this.reader = reader;
    this.readLoop = this.readControl(reader);
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

