/** Channels: membership, member events, fan-out, history replay; presence queries and attributes. */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, testTiming, until, type RawClient } from './helpers.js';
import { CLUSTER_FLUSH_DELAY_MS, resolveConfig } from '../../src/server/options.js';

const h = new Harness();
afterEach(() => h.cleanup());

const say = (channel: string, msgId: string, text = msgId) => ({ t: 'channel.send', msgId, channel, text });
const sleepPast = (since: number, ms: number) => until(() => Date.now() - since > ms, ms + 5000, `${ms} ms passed`);

async function room(uids: string[], options: Parameters<Harness['server']>[0] = {}) {
  const server = await h.server(options);
  const users: Record<string, { client: RawClient; grant: Record<string, unknown> }> = {};
  for (const uid of uids) {
    users[uid] = await h.loginInRoom(server, uid);
  }
  return { server, users };
}

describe('channels', () => {
  it('join answers the members and announces the newcomer; leave announces the leaver', async () => {
    const { server, users } = await room(['alice']);
    const bob = await h.login(server, 'bob');
    expect((await bob.client.ok({ t: 'channel.join', channel: 'room' })).members.sort()).toEqual(['alice', 'bob']);
    expect(await users.alice!.client.next((f) => f.t === 'channel.member')).toEqual({
      t: 'channel.member',
      channel: 'room',
      uid: 'bob',
      joined: true,
    });
    await bob.client.ok({ t: 'channel.leave', channel: 'room' });
    expect(await users.alice!.client.next((f) => f.t === 'channel.member')).toMatchObject({ uid: 'bob', joined: false });
    expect((await users.alice!.client.ok({ t: 'channel.members', channel: 'room' })).members).toEqual(['alice']);
  });

  it('a channel with more members than limits.memberEventsMaxMembers announces no joins or leaves (as Agora RTM above 512)', async () => {
    const { server, users } = await room(['alice', 'bob'], { limits: { memberEventsMaxMembers: 2 } });
    // Two members: bob's join was announced to alice.
    expect(await users.alice!.client.next((f) => f.t === 'channel.member')).toMatchObject({ uid: 'bob', joined: true });
    // A third member: neither its join nor its leave is announced.
    const carol = await h.loginInRoom(server, 'carol');
    expect((await users.alice!.client.ok({ t: 'channel.members', channel: 'room' })).members.sort()).toEqual(['alice', 'bob', 'carol']);
    await carol.client.ok({ t: 'channel.leave', channel: 'room' });
    // Back to two: bob's leave is announced, and it is the next member event alice sees.
    await users.bob!.client.ok({ t: 'channel.leave', channel: 'room' });
    expect(await users.alice!.client.next((f) => f.t === 'channel.member')).toMatchObject({ uid: 'bob', joined: false });
    expect(users.alice!.client.frames.filter((f) => f.t === 'channel.member' && f.uid === 'carol')).toEqual([]);
  });

  it('R5.3 join answers the seq the history stood at, so a resume before any live message replays nothing older', async () => {
    const { server, users } = await room(['alice']);
    for (const id of ['m1', 'm2', 'm3']) await users.alice!.client.ok(say('room', id));
    const bob = await h.login(server, 'bob');
    expect(await bob.client.ok({ t: 'channel.join', channel: 'room' })).toMatchObject({ seq: 3 });
    const fresh = await h.login(server, 'carol');
    expect(await fresh.client.ok({ t: 'channel.join', channel: 'empty' })).toMatchObject({ seq: 0 });
  });

  it('R8 wrong-state channel calls: ALREADY_JOINED, NOT_JOINED for leave, send and members', async () => {
    const { server, users } = await room(['alice']);
    const bob = await h.login(server, 'bob');
    expect(await users.alice!.client.request({ t: 'channel.join', channel: 'room' })).toMatchObject({ ok: false, code: 'ALREADY_JOINED' });
    expect(await bob.client.request({ t: 'channel.leave', channel: 'room' })).toMatchObject({ ok: false, code: 'NOT_JOINED' });
    expect(await bob.client.request(say('room', 'x'))).toMatchObject({ ok: false, code: 'NOT_JOINED' });
    expect(await bob.client.request({ t: 'channel.members', channel: 'room' })).toMatchObject({ ok: false, code: 'NOT_JOINED' });
    expect(users.alice!.client.all((f) => f.t === 'channel.msg')).toEqual([]);
  });

  it('fans a message out to every other member with server seq and timestamp, not back to the sender', async () => {
    const { users } = await room(['alice', 'bob', 'carol']);
    await users.alice!.client.ok(say('room', 'c1', 'hello'));
    for (const uid of ['bob', 'carol']) {
      const msg = await users[uid]!.client.next((f) => f.t === 'channel.msg');
      expect(msg).toMatchObject({ channel: 'room', seq: 1, msgId: 'c1', from: 'alice', text: 'hello', historical: false });
      expect(Math.abs(msg.ts - Date.now())).toBeLessThan(5000);
    }
    await users.alice!.client.ok({ t: 'presence.query', uids: ['bob'] });
    expect(users.alice!.client.all((f) => f.t === 'channel.msg')).toEqual([]);
  });

  it('keeps each sender’s order across a burst from several senders', async () => {
    const { users } = await room(['alice', 'bob', 'carol']);
    await Promise.all(
      ['alice', 'bob'].map(async (uid) => {
        for (let i = 0; i < 30; i++) await users[uid]!.client.ok(say('room', `${uid}-${i}`));
      }),
    );
    const got = await users.carol!.client.collect((f) => f.t === 'channel.msg', 60);
    for (const uid of ['alice', 'bob']) {
      expect(got.filter((f) => f.from === uid).map((f) => f.msgId)).toEqual(Array.from({ length: 30 }, (_, i) => `${uid}-${i}`));
    }
    const seqs = got.map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});

describe('outgoing coalescing', () => {
  it('frames for one socket in one turn leave as one WebSocket message; flushDelayMs widens the window', async () => {
    const { users } = await room(['alice', 'bob'], { flushDelayMs: 100 });
    const before = users.bob!.client.messages;
    users.alice!.client.sendRaw(
      [1, 2, 3, 4].map((i) => JSON.stringify({ t: 'channel.send', id: 100 + i, msgId: `k${i}`, channel: 'room', text: `${i}` })).join('\n'),
    );
    const got = await users.bob!.client.collect((f) => f.t === 'channel.msg', 4);
    expect(got.map((f) => f.msgId)).toEqual(['k1', 'k2', 'k3', 'k4']);
    expect(users.bob!.client.messages - before).toBe(1);
  });

  it('a node of a cluster (redis) waits CLUSTER_FLUSH_DELAY_MS by default to coalesce; a flushDelayMs given, 0 included, wins', () => {
    expect(resolveConfig({}).flushDelayMs).toBe(0);
    expect(CLUSTER_FLUSH_DELAY_MS).toBeGreaterThan(0);
    expect(resolveConfig({ redis: 'redis://127.0.0.1:6379' }).flushDelayMs).toBe(CLUSTER_FLUSH_DELAY_MS);
    expect(resolveConfig({ redis: { url: 'redis://127.0.0.1:6379' }, flushDelayMs: 0 }).flushDelayMs).toBe(0);
    expect(resolveConfig({ redis: 'redis://127.0.0.1:6379', flushDelayMs: 2 }).flushDelayMs).toBe(2);
  });
});

describe('R5.3 channel replay after a reconnect', () => {
  it('R5.3 replays the most recent channelReplayMax messages others sent while away, in order, flagged historical', async () => {
    const { server, users } = await room(['alice', 'bob'], { timing: { ...testTiming, channelReplayMax: 3, presenceTimeoutMs: 5000 } });
    await users.bob!.client.ok(say('room', 'seen'));
    const seen = await users.alice!.client.next((f) => f.msgId === 'seen');
    users.alice!.client.terminate();
    await until(() => server.stats().connections === 1);
    for (let i = 1; i <= 5; i++) await users.bob!.client.ok(say('room', `m${i}`));
    const { client, res } = await h.resume(server, 'alice', users.alice!.grant.sessionId as string, {
      channels: [{ channel: 'room', seq: seen.seq }],
    });
    expect(res.ok).toBe(true);
    const replayed = await client.collect((f) => f.t === 'channel.msg', 3);
    expect(replayed.map((f) => [f.msgId, f.historical, f.from])).toEqual([
      ['m3', true, 'bob'],
      ['m4', true, 'bob'],
      ['m5', true, 'bob'],
    ]);
    expect(replayed.map((f) => f.seq)).toEqual([seen.seq + 3, seen.seq + 4, seen.seq + 5]);
    for (const f of replayed) expect(f.ts).toBeLessThanOrEqual(Date.now());
    // Live traffic continues after the replay, unflagged, and nothing came twice.
    await users.bob!.client.ok(say('room', 'live'));
    expect(await client.next((f) => f.msgId === 'live')).toMatchObject({ historical: false, seq: seen.seq + 6 });
    expect(client.all((f) => f.t === 'channel.msg')).toHaveLength(4);
  });

  it('R5.3 members coming back one after another each get their own replay, also once older replays were forgotten', async () => {
    // Replays are encoded once per node and kept for the latest 2 × channelReplayMax messages.
    const { server, users } = await room(['alice', 'bob', 'carol'], { timing: { ...testTiming, channelReplayMax: 2, presenceTimeoutMs: 5000 } });
    const away = async (...uids: string[]) => {
      for (const uid of uids) users[uid]!.client.terminate();
      await until(() => server.stats().connections === 3 - uids.length);
    };
    const back = async (uid: string, seq: number) => {
      const { client, res } = await h.resume(server, uid, users[uid]!.grant.sessionId as string, { channels: [{ channel: 'room', seq }] });
      expect(res.ok).toBe(true);
      await client.ok({ t: 'channel.members', channel: 'room' });
      users[uid]!.client = client;
      return client.all((f) => f.t === 'channel.msg').map((f) => [f.msgId, f.seq, f.historical]);
    };
    await away('alice', 'carol');
    for (let i = 1; i <= 4; i++) await users.bob!.client.ok(say('room', `m${i}`));
    expect(await back('alice', 0)).toEqual([['m3', 3, true], ['m4', 4, true]]);
    expect(await back('carol', 3)).toEqual([['m4', 4, true]]);
    await away('alice', 'carol');
    for (let i = 5; i <= 12; i++) await users.bob!.client.ok(say('room', `m${i}`));
    expect(await back('carol', 4)).toEqual([['m11', 11, true], ['m12', 12, true]]);
    await away('carol');
    for (let i = 13; i <= 16; i++) await users.bob!.client.ok(say('room', `m${i}`));
    expect(await back('alice', 12)).toEqual([['m15', 15, true], ['m16', 16, true]]);
    expect(await back('carol', 14)).toEqual([['m15', 15, true], ['m16', 16, true]]);
  });

  it('R5.3 replays only what others sent, never the member’s own messages', async () => {
    const { server, users } = await room(['alice', 'bob'], { timing: { ...testTiming, presenceTimeoutMs: 5000 } });
    await users.alice!.client.ok(say('room', 'own'));
    await users.bob!.client.ok(say('room', 'other'));
    await users.alice!.client.next((f) => f.msgId === 'other');
    users.alice!.client.terminate();
    await until(() => server.stats().connections === 1);
    const { client } = await h.resume(server, 'alice', users.alice!.grant.sessionId as string, { channels: [{ channel: 'room', seq: 0 }] });
    await client.next((f) => f.msgId === 'other');
    await client.ok({ t: 'channel.members', channel: 'room' });
    expect(client.all((f) => f.t === 'channel.msg').map((f) => [f.msgId, f.historical])).toEqual([['other', true]]);
  });

  it('R5.3 leaves out messages older than channelReplayWindowMs before the resume', async () => {
    const { server, users } = await room(['alice', 'bob'], {
      timing: { ...testTiming, channelReplayWindowMs: 300, presenceTimeoutMs: 5000 },
    });
    users.alice!.client.terminate();
    await until(() => server.stats().connections === 1);
    await users.bob!.client.ok(say('room', 'too-old'));
    await sleepPast(Date.now(), 400);
    await users.bob!.client.ok(say('room', 'recent'));
    const { client } = await h.resume(server, 'alice', users.alice!.grant.sessionId as string, { channels: [{ channel: 'room', seq: 0 }] });
    await client.next((f) => f.msgId === 'recent');
    await client.ok({ t: 'channel.members', channel: 'room' });
    expect(client.all((f) => f.t === 'channel.msg').map((f) => f.msgId)).toEqual(['recent']);
  });

  it('R5.3 replays nothing from before the position the client names', async () => {
    const { server, users } = await room(['alice', 'bob'], { timing: { ...testTiming, presenceTimeoutMs: 5000 } });
    await users.bob!.client.ok(say('room', 'a'));
    await users.bob!.client.ok(say('room', 'b'));
    const b = await users.alice!.client.next((f) => f.msgId === 'b');
    users.alice!.client.terminate();
    await until(() => server.stats().connections === 1);
    await users.bob!.client.ok(say('room', 'c'));
    const { client } = await h.resume(server, 'alice', users.alice!.grant.sessionId as string, { channels: [{ channel: 'room', seq: b.seq }] });
    await client.next((f) => f.msgId === 'c');
    await client.ok({ t: 'channel.members', channel: 'room' });
    expect(client.all((f) => f.t === 'channel.msg').map((f) => f.msgId)).toEqual(['c']);
  });

  it('R5.3 messages sent while the resume is replaying come once each, in seq order', async () => {
    const { server, users } = await room(['alice', 'bob'], {
      timing: { ...testTiming, presenceTimeoutMs: 5000, channelReplayMax: 1000 },
      limits: { rateLimitPerSecond: 0, channelHistoryMax: 1000 },
    });
    users.alice!.client.terminate();
    await until(() => server.stats().connections === 1);
    let sent = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop && sent < 300) await users.bob!.client.ok(say('room', `m${++sent}`));
    })();
    await until(() => sent >= 20);
    const { client } = await h.resume(server, 'alice', users.alice!.grant.sessionId as string, { channels: [{ channel: 'room', seq: 0 }] });
    stop = true;
    await pump;
    const got = await client.collect((f) => f.t === 'channel.msg', sent);
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(got.some((f) => f.historical)).toBe(true);
  });

  it('R5.4 after the presence timeout the rejoin with lastSeq replays what was missed (window rule)', async () => {
    const { server, users } = await room(['alice', 'bob'], {
      timing: { ...testTiming, presenceTimeoutMs: 400, interruptionGraceMs: 100, channelReplayWindowMs: 5000 },
    });
    await users.bob!.client.ok(say('room', 'seen'));
    const seen = await users.alice!.client.next((f) => f.msgId === 'seen');
    users.alice!.client.terminate();
    await users.bob!.client.ok(say('room', 'while-away'));
    await users.bob!.client.next((f) => f.t === 'channel.member' && f.uid === 'alice' && !f.joined, 5000);
    await users.bob!.client.ok(say('room', 'after-expiry'));
    const { client, res } = await h.resume(server, 'alice', users.alice!.grant.sessionId as string, {
      channels: [{ channel: 'room', seq: seen.seq }],
    });
    expect(res.data.sessionExpired).toBe(true);
    // The expired session is in no channel: nothing is replayed until the client rejoins.
    expect(client.all((f) => f.t === 'channel.msg')).toEqual([]);
    const joined = await client.request({ t: 'channel.join', channel: 'room', lastSeq: seen.seq });
    expect(joined.ok).toBe(true);
    const replayed = await client.collect((f) => f.t === 'channel.msg', 2);
    expect(replayed.map((f) => [f.msgId, f.historical])).toEqual([
      ['while-away', true],
      ['after-expiry', true],
    ]);
    // The join answer precedes the replay.
    expect(client.frames.findIndex((f) => f.t === 'res' && f.id === joined.id)).toBeLessThan(client.frames.indexOf(replayed[0]!));
  });
});

describe('presence and attributes', () => {
  it('R4.1 presence.query answers each uid in order', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    await h.login(server, 'bob');
    expect(await alice.client.ok({ t: 'presence.query', uids: ['bob', 'nobody', 'alice'] })).toEqual({
      status: [
        ['bob', true],
        ['nobody', false],
        ['alice', true],
      ],
    });
  });

  it('attrs.set replaces the set; anyone logged in reads them with attrs.get', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    await alice.client.ok({ t: 'attrs.set', attrs: [['a', '1'], ['b', '2']] });
    await alice.client.ok({ t: 'attrs.set', attrs: [['c', '3'], ['c', '4']] });
    expect(await bob.client.ok({ t: 'attrs.get', uid: 'alice' })).toEqual({ attrs: [['c', '4']] });
    expect(await bob.client.ok({ t: 'attrs.get', uid: 'nobody' })).toEqual({ attrs: [] });
  });

  it('R8 prototype keys cannot pollute: __proto__ / constructor attribute keys and ids are INVALID_ARGUMENT', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expect(await alice.client.request({ t: 'attrs.set', attrs: [[key, 'x']] })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    }
    expect(await alice.client.request({ t: 'channel.join', channel: '__proto__' })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(await alice.client.request({ t: 'peer.send', msgId: 'p', to: '__proto__', text: 'x', offline: true })).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(alice.client.isClosed).toBe(false);
  });
});
