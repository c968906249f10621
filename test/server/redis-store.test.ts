/**
 * Issue 13 step 1: the RtmStore contract against RedisStore (a fresh key prefix per store), and
 * what only a shared store must do: one epoch for every node, a new one when Redis comes back
 * empty, Redis's clock deciding ages, atomic bounds under concurrent nodes, cluster-ready keys.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisStore, type RedisStore, type RedisStoreOptions } from '../../src/server/store/redis-store.js';
import { storeContract } from './store-contract.js';

const url = inject('redisUrl');
const freshPrefix = () => `test:${randomBytes(6).toString('hex')}:`;
const open = (options: Partial<RedisStoreOptions> = {}) => createRedisStore({ url, keyPrefix: freshPrefix(), ...options });

// The suite drives time by hand (ts 1000, 1001, …), so the store reads the caller's clock here.
storeContract('RedisStore', () => open({ clock: 'caller' }));

describe('13.1 RedisStore as a shared store', () => {
  const admin = createClient({ url });
  const stores: RedisStore[] = [];
  const track = async (store: Promise<RedisStore>) => {
    const s = await store;
    stores.push(s);
    return s;
  };
  beforeAll(() => admin.connect());
  afterAll(async () => {
    for (const store of stores) await store.close();
    await admin.close();
  });

  it('13.1 R11.2 every node on the same Redis and prefix reads the same epoch; another prefix has its own', async () => {
    const keyPrefix = freshPrefix();
    const [a, b] = await Promise.all([track(open({ keyPrefix })), track(open({ keyPrefix }))]);
    const epochs = await Promise.all([a.epoch(), b.epoch(), a.epoch()]);
    expect(new Set(epochs).size).toBe(1);
    const other = await track(open());
    expect(await other.epoch()).not.toBe(epochs[0]);
  });

  it('13.1 R11.2 Redis coming back empty is a new epoch, and seqs start again under it', async () => {
    const keyPrefix = freshPrefix();
    const store = await track(open({ keyPrefix }));
    const before = await store.epoch();
    const bounds = { maxMessages: 10, maxAgeMs: 60_000 };
    await store.appendToInbox({ msgId: 'm1', from: 'a', to: 'b', text: '', ts: Date.now() }, bounds);
    const keys = await admin.keys(`${keyPrefix}*`);
    await admin.del(keys);
    const after = await store.epoch();
    expect(after).not.toBe(before);
    expect((await store.appendToInbox({ msgId: 'm2', from: 'a', to: 'b', text: '', ts: Date.now() }, bounds)).stored?.seq).toBe(1);
  });

  it("13.1 Redis's clock stamps messages and decides their age, not the node's", async () => {
    const store = await track(open());
    const bounds = { maxMessages: 10, maxAgeMs: 60_000 };
    // A node whose clock is an hour behind, then one an hour ahead.
    const behind = Date.now() - 3_600_000;
    const first = await store.appendToInbox({ msgId: 'm1', from: 'a', to: 'b', text: '', ts: behind }, bounds);
    expect(Math.abs(first.stored!.ts - Date.now())).toBeLessThan(5_000);
    const second = await store.appendToInbox({ msgId: 'm2', from: 'a', to: 'b', text: '', ts: Date.now() + 3_600_000 }, bounds);
    expect(second.expired).toEqual([]);
    expect(await store.expireInboxes(Date.now() + 3_600_000, 60_000)).toEqual([]);
    expect((await store.readInbox('b', 0)).map((m) => m.msgId)).toEqual(['m1', 'm2']);
    const channel = await store.appendToChannel({ channel: 'r', msgId: 'c1', from: 'a', text: '', ts: behind }, bounds);
    expect(Math.abs(channel.ts - Date.now())).toBeLessThan(5_000);
    await store.sweep(Date.now() + 3_600_000);
    expect((await store.channelHistory('r', { afterSeq: 0, sinceTs: 0, max: 10 })).messages).toHaveLength(1);
  });

  it('13.1 the inbox bound holds exactly when two nodes append at once; seqs are unique and increasing', async () => {
    const keyPrefix = freshPrefix();
    const [a, b] = await Promise.all([track(open({ keyPrefix })), track(open({ keyPrefix }))]);
    const bounds = { maxMessages: 20, maxAgeMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).appendToInbox({ msgId: `m${i}`, from: 'x', to: 'bob', text: '', ts: Date.now() }, bounds)),
    );
    const seqs = results.flatMap((r) => (r.stored ? [r.stored.seq] : []));
    expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await a.inboxDropCount('bob')).toBe(30);
    const channelSeqs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).appendToChannel({ channel: 'r', msgId: `c${i}`, from: 'x', text: '', ts: Date.now() }, bounds)),
    );
    expect(channelSeqs.map((m) => m.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await b.channelHistory('r', { afterSeq: 0, sinceTs: 0, max: 100 })).messages.map((m) => m.seq)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 11),
    );
  });

  it('13.1 history lives in streams with entry ids <seq>-1, under the prefix, one hash tag per uid and per channel', async () => {
    const keyPrefix = freshPrefix();
    const store = await track(open({ keyPrefix }));
    const bounds = { maxMessages: 10, maxAgeMs: 60_000 };
    await store.putSession({ uid: 'bob', sessionId: 's1', startedAt: 1 });
    await store.appendToInbox({ msgId: 'm1', from: 'a', to: 'bob', text: 'hi', ts: Date.now() }, bounds);
    await store.appendToInbox({ msgId: 'm2', from: 'a', to: 'bob', text: 'hi', ts: Date.now() }, bounds);
    await store.joinChannel('room', 'bob');
    await store.appendToChannel({ channel: 'room', msgId: 'c1', from: 'bob', text: '', ts: Date.now() }, bounds);
    const ids = async (key: string) => ((await admin.xRange(key, '-', '+')) ?? []).map((e) => e.id);
    expect(await ids(`${keyPrefix}{u:bob}:inbox`)).toEqual(['1-1', '2-1']);
    expect(await ids(`${keyPrefix}{c:room}:history`)).toEqual(['1-1']);
    const keys = await admin.keys(`${keyPrefix}*`);
    expect(keys.length).toBeGreaterThan(5);
    const tags = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1] ?? 'untagged:' + k));
    // Everything of bob under one tag, of the room under another; indexes and the epoch apart.
    expect([...tags].filter((t) => t.startsWith('u:'))).toEqual(['u:bob']);
    expect([...tags].filter((t) => t.startsWith('c:'))).toEqual(['c:room']);
  });

  it('13.1 a new session bumps the uid\'s generation, which outlives the session (for the next step\'s fencing)', async () => {
    const store = await track(open());
    expect(await store.sessionGeneration('a')).toBe(0);
    await store.putSession({ uid: 'a', sessionId: 's1', startedAt: 1 });
    await store.endSession('a', 's1', { uid: 'a', reason: 'LOGOUT', endedAt: 2 });
    await store.putSession({ uid: 'a', sessionId: 's2', startedAt: 3 });
    expect(await store.sessionGeneration('a')).toBe(2);
    expect(await store.getSession('a')).toEqual({ uid: 'a', sessionId: 's2', startedAt: 3 });
  });

  it('13.1 the scripts load again after Redis forgot them (SCRIPT FLUSH)', async () => {
    const store = await track(open());
    const bounds = { maxMessages: 10, maxAgeMs: 60_000 };
    await store.appendToChannel({ channel: 'r', msgId: 'c1', from: 'a', text: '', ts: Date.now() }, bounds);
    await admin.scriptFlush();
    expect((await store.appendToChannel({ channel: 'r', msgId: 'c2', from: 'a', text: '', ts: Date.now() }, bounds)).seq).toBe(2);
  });

  it('13.1 14.2 a channel without members loses its attributes after the TTL (Redis expires them); one with members keeps them', async () => {
    const store = await track(open({ emptyChannelAttributesTtlMs: 150 }));
    const change = { clear: false, remove: [], set: [['k', 'v']] as Array<[string, string]>, by: 'a', ts: Date.now() };
    await store.joinChannel('kept', 'a');
    await store.changeChannelAttributes('kept', change, 8);
    await store.joinChannel('left', 'a');
    await store.changeChannelAttributes('left', change, 8);
    await store.leaveChannel('left', 'a');
    await store.changeChannelAttributes('never-joined', change, 8);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await store.getChannelAttributes('kept')).map((a) => a.key)).toEqual(['k']);
    expect(await store.getChannelAttributes('left')).toEqual([]);
    expect(await store.getChannelAttributes('never-joined')).toEqual([]);
  });

  it('13.1 uids and channels that look like key syntax stay apart', async () => {
    const store = await track(open());
    await store.joinChannel('a}:members', 'x');
    await store.joinChannel('a', 'y');
    expect(await store.channelMembers('a')).toEqual(['y']);
    expect(await store.channelMembers('a}:members')).toEqual(['x']);
    await store.ban('b}:banned');
    expect(await store.isBanned('b')).toBe(false);
  });

  it('13.1 a prefix with braces is refused; an unreachable Redis fails the start with its error', async () => {
    await expect(open({ keyPrefix: 'a{b}' })).rejects.toThrow(/keyPrefix/);
    // Nothing listens on port 1: the start fails after the connect timeout instead of waiting forever.
    await expect(createRedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 })).rejects.toThrow();
  });
});
