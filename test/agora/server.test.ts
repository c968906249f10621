/** Issue 14.2, server side over raw sockets: the frames the Agora RTM 1.x compatibility layer adds. */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RAW_MESSAGE_BYTES } from '../../src/protocol/index.js';
import { Harness, until } from '../server/helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const base64 = (bytes: number[] | Uint8Array) => Buffer.from(bytes).toString('base64');

describe('14.2 login without a token', () => {
  it('14.2 is INVALID_TOKEN by default (tokens required)', async () => {
    const server = await h.server();
    const client = await h.connect(server);
    expect(await client.request({ t: 'login', v: 1, uid: 'alice' })).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
    expect(client.isClosed).toBe(false);
  });

  it('14.2 is granted by a server with allowAnonymousLogin, and the session resumes without a token', async () => {
    const server = await h.server({ allowAnonymousLogin: true });
    const client = await h.connect(server);
    const grant = await client.ok({ t: 'login', v: 1, uid: 'alice' });
    client.terminate();
    const resumed = await h.connect(server);
    const res = await resumed.request({ t: 'resume', v: 1, uid: 'alice', sessionId: grant.sessionId, peerSeq: 0, channels: [] });
    expect(res).toMatchObject({ ok: true, data: { sessionId: grant.sessionId } });
    // A token, when given, is still checked.
    const other = await h.connect(server);
    expect(await other.request({ t: 'login', v: 1, uid: 'bob', token: 'garbage' })).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
  });
});

describe('14.2 user attributes by key', () => {
  it('14.2 attrs.update adds and replaces, attrs.delete removes, attrs.getKeys reads the asked keys', async () => {
    const server = await h.server();
    const { client: alice } = await h.login(server, 'alice');
    const { client: bob } = await h.login(server, 'bob');
    await alice.ok({ t: 'attrs.set', attrs: [['a', '1'], ['b', '2']] });
    await alice.ok({ t: 'attrs.update', attrs: [['b', '3'], ['c', '4']] });
    expect(new Map((await bob.ok({ t: 'attrs.get', uid: 'alice' })).attrs)).toEqual(new Map([['a', '1'], ['b', '3'], ['c', '4']]));
    await alice.ok({ t: 'attrs.delete', keys: ['a', 'absent'] });
    expect((await bob.ok({ t: 'attrs.getKeys', uid: 'alice', keys: ['a', 'c'] })).attrs).toEqual([['c', '4']]);
    await alice.ok({ t: 'attrs.set', attrs: [] });
    expect((await bob.ok({ t: 'attrs.get', uid: 'alice' })).attrs).toEqual([]);
  });

  it('14.2 an update past 32 attributes is INVALID_ARGUMENT and changes nothing; a bad key is INVALID_ARGUMENT', async () => {
    const server = await h.server();
    const { client } = await h.login(server, 'alice');
    const many = Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v']);
    await client.ok({ t: 'attrs.set', attrs: many });
    expect(await client.request({ t: 'attrs.update', attrs: [['one-more', 'v']] })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect((await client.ok({ t: 'attrs.get', uid: 'alice' })).attrs).toHaveLength(32);
    expect(await client.request({ t: 'attrs.delete', keys: ['bad key'] })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(await client.request({ t: 'attrs.getKeys', uid: 'alice', keys: [] })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(client.isClosed).toBe(false);
  });
});

describe('14.2 channel attributes', () => {
  it('14.2 set / update / delete / clear / get, stamped with who and when, without joining', async () => {
    const server = await h.server();
    const { client: alice } = await h.login(server, 'alice');
    const { client: bob } = await h.login(server, 'bob');
    const before = Date.now();
    await alice.ok({ t: 'channel.attrs.set', channel: 'room', attrs: [['topic', 'x'], ['mode', 'quiet']], notify: false });
    await bob.ok({ t: 'channel.attrs.update', channel: 'room', attrs: [['mode', 'loud']], notify: false });
    const all = (await bob.ok({ t: 'channel.attrs.get', channel: 'room' })).attrs as Array<[string, string, string, number]>;
    expect(all.map(([key, value, by]) => [key, value, by])).toEqual([
      ['topic', 'x', 'alice'],
      ['mode', 'loud', 'bob'],
    ]);
    expect(all[0]![3]).toBeGreaterThanOrEqual(before);
    expect((await alice.ok({ t: 'channel.attrs.get', channel: 'room', keys: ['mode'] })).attrs.map((a: unknown[]) => a[0])).toEqual(['mode']);
    await alice.ok({ t: 'channel.attrs.delete', channel: 'room', keys: ['topic'], notify: false });
    expect((await alice.ok({ t: 'channel.attrs.get', channel: 'room' })).attrs.map((a: unknown[]) => a[0])).toEqual(['mode']);
    await alice.ok({ t: 'channel.attrs.set', channel: 'room', attrs: [['only', '1']], notify: false });
    expect((await alice.ok({ t: 'channel.attrs.get', channel: 'room' })).attrs.map((a: unknown[]) => a[0])).toEqual(['only']);
    await alice.ok({ t: 'channel.attrs.clear', channel: 'room', notify: false });
    expect((await alice.ok({ t: 'channel.attrs.get', channel: 'room' })).attrs).toEqual([]);
  });

  it('14.2 notify sends every member all the attributes; without it nobody is told', async () => {
    const server = await h.server();
    const { client: member } = await h.loginInRoom(server, 'member');
    const { client: outsider } = await h.login(server, 'outsider');
    await outsider.ok({ t: 'channel.attrs.update', channel: 'room', attrs: [['a', '1']], notify: false });
    await outsider.ok({ t: 'channel.attrs.update', channel: 'room', attrs: [['b', '2']], notify: true });
    const notice = await member.next((f) => f.t === 'channel.attrs');
    expect(notice.channel).toBe('room');
    expect(notice.attrs.map((a: unknown[]) => [a[0], a[1], a[2]])).toEqual([
      ['a', '1', 'outsider'],
      ['b', '2', 'outsider'],
    ]);
    await sleep(50);
    expect(member.all((f) => f.t === 'channel.attrs')).toHaveLength(1);
    expect(outsider.all((f) => f.t === 'channel.attrs')).toHaveLength(0);
  });

  it('14.2 more than 32 attributes or a value over 8 KiB is INVALID_ARGUMENT; a missing notify breaks the protocol', async () => {
    const server = await h.server();
    const { client } = await h.login(server, 'alice');
    const many = Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']);
    expect(await client.request({ t: 'channel.attrs.set', channel: 'room', attrs: many, notify: false })).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    const big = [['k', 'x'.repeat(8 * 1024 + 1)]];
    expect(await client.request({ t: 'channel.attrs.update', channel: 'room', attrs: big, notify: false })).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    await client.ok({ t: 'channel.attrs.set', channel: 'room', attrs: many.slice(0, 32), notify: false });
    expect(await client.request({ t: 'channel.attrs.update', channel: 'room', attrs: [['extra', '1']], notify: false })).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    expect(await client.request({ t: 'channel.attrs.get', channel: 'bad id' })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    client.send({ t: 'channel.attrs.clear', id: 99, channel: 'room' });
    expect((await client.closed).code).toBe(4000);
  });
});

describe('14.2 member counts', () => {
  it('14.2 channel.counts answers each asked channel, members or not, in order', async () => {
    const server = await h.server();
    await h.loginInRoom(server, 'a');
    await h.loginInRoom(server, 'b');
    const { client } = await h.login(server, 'c');
    expect((await client.ok({ t: 'channel.counts', channels: ['room', 'empty'] })).counts).toEqual([
      ['room', 2],
      ['empty', 0],
    ]);
    const tooMany = Array.from({ length: 33 }, (_, i) => `c${i}`);
    expect(await client.request({ t: 'channel.counts', channels: tooMany })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
  });

  it('14.2 members are told the count after joins and leaves, at most once per interval, the latest count', async () => {
    const server = await h.server({ limits: { memberCountIntervalMs: 1000 } });
    const { client: first } = await h.loginInRoom(server, 'first');
    expect((await first.next((f) => f.t === 'channel.count')).count).toBe(1);
    const start = Date.now();
    await h.loginInRoom(server, 'second');
    await h.loginInRoom(server, 'third');
    const next = await first.next((f) => f.t === 'channel.count');
    // The join of 'first' opened an interval: the two later joins are announced together at its end.
    expect(next.count).toBe(3);
    expect(Date.now() - start).toBeGreaterThanOrEqual(500);
    await sleep(200);
    expect(first.all((f) => f.t === 'channel.count').map((f) => f.count)).toEqual([1, 3]);
  });
});

describe('14.2 presence subscriptions', () => {
  it('14.2 answers the current states, then tells ONLINE / UNREACHABLE / ONLINE / OFFLINE as they change', async () => {
    const server = await h.server();
    const { client: watcher } = await h.login(server, 'watcher');
    await h.login(server, 'here');
    const answer = await watcher.ok({ t: 'presence.subscribe', uids: ['target', 'here'] });
    expect(answer.status).toEqual([
      ['target', 'OFFLINE'],
      ['here', 'ONLINE'],
    ]);
    const { client: target, grant } = await h.login(server, 'target');
    expect((await watcher.next((f) => f.t === 'presence.changed')).status).toEqual([['target', 'ONLINE']]);
    target.terminate();
    expect((await watcher.next((f) => f.t === 'presence.changed')).status).toEqual([['target', 'UNREACHABLE']]);
    const { client: back } = await h.resume(server, 'target', grant.sessionId);
    expect((await watcher.next((f) => f.t === 'presence.changed')).status).toEqual([['target', 'ONLINE']]);
    await back.ok({ t: 'logout' });
    expect((await watcher.next((f) => f.t === 'presence.changed')).status).toEqual([['target', 'OFFLINE']]);
  });

  it('14.2 the presence window running out is OFFLINE; unsubscribe stops the notices; other sessions are not told', async () => {
    const server = await h.server();
    const { client: watcher } = await h.login(server, 'watcher');
    const { client: bystander } = await h.login(server, 'bystander');
    await watcher.ok({ t: 'presence.subscribe', uids: ['target'] });
    const { client: target } = await h.login(server, 'target');
    await watcher.next((f) => f.t === 'presence.changed' && f.status[0][1] === 'ONLINE');
    target.terminate();
    await watcher.next((f) => f.t === 'presence.changed' && f.status[0][1] === 'UNREACHABLE');
    // testTiming: the presence window is 1 s.
    await watcher.next((f) => f.t === 'presence.changed' && f.status[0][1] === 'OFFLINE', 3000);
    await watcher.ok({ t: 'presence.unsubscribe', uids: ['target'] });
    await h.login(server, 'target');
    await sleep(100);
    expect(watcher.all((f) => f.t === 'presence.changed')).toHaveLength(3);
    expect(bystander.all((f) => f.t === 'presence.changed')).toHaveLength(0);
  });

  it('14.2 a login elsewhere is no OFFLINE; a watcher that logs out leaves no subscription behind', async () => {
    const server = await h.server();
    const { client: watcher } = await h.login(server, 'watcher');
    await h.login(server, 'target');
    await watcher.ok({ t: 'presence.subscribe', uids: ['target'] });
    await h.login(server, 'target');
    const change = await watcher.next((f) => f.t === 'presence.changed');
    expect(change.status).toEqual([['target', 'ONLINE']]);
    await watcher.ok({ t: 'logout' });
    const { client: again } = await h.login(server, 'watcher');
    await h.login(server, 'target');
    await sleep(100);
    expect(again.all((f) => f.t === 'presence.changed')).toHaveLength(0);
  });

  it('14.2 more than 512 subscriptions is INVALID_ARGUMENT', async () => {
    const server = await h.server();
    const { client } = await h.login(server, 'watcher');
    for (let i = 0; i < 2; i++) {
      await client.ok({ t: 'presence.subscribe', uids: Array.from({ length: 256 }, (_, j) => `u${i}-${j}`) });
    }
    expect(await client.request({ t: 'presence.subscribe', uids: ['one-more'] })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect((await client.ok({ t: 'presence.subscribe', uids: ['u0-0'] })).status).toEqual([['u0-0', 'OFFLINE']]);
  });
});

describe('14.2 token expiry notice', () => {
  it('14.2 token.willExpire comes tokenWillExpireNoticeMs before the expiry; token.renew re-arms it', async () => {
    const server = await h.server({ limits: { tokenWillExpireNoticeMs: 1000 } });
    const client = await h.connect(server);
    const start = Date.now();
    await client.ok({ t: 'login', v: 1, uid: 'alice', token: server.createToken('alice', { expiresInSeconds: 1.3 }) });
    await client.next((f) => f.t === 'token.willExpire');
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
    await client.ok({ t: 'token.renew', token: server.createToken('alice', { expiresInSeconds: 1.3 }) });
    const renewedAt = Date.now();
    await client.next((f) => f.t === 'token.willExpire');
    expect(Date.now() - renewedAt).toBeGreaterThanOrEqual(250);
    expect(await client.request({ t: 'token.renew', token: server.createToken('bob') })).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
    expect(await client.request({ t: 'token.renew', token: server.createToken('alice', { expiresInSeconds: -1 }) })).toMatchObject({
      ok: false,
      code: 'TOKEN_EXPIRED',
    });
  });

  it('14.2 a token far from expiry and an anonymous login get no notice', async () => {
    const server = await h.server({ limits: { tokenWillExpireNoticeMs: 1000 }, allowAnonymousLogin: true });
    const { client } = await h.login(server, 'alice');
    const anonymous = await h.connect(server);
    await anonymous.ok({ t: 'login', v: 1, uid: 'anon' });
    await sleep(300);
    expect(client.all((f) => f.t === 'token.willExpire')).toHaveLength(0);
    expect(anonymous.all((f) => f.t === 'token.willExpire')).toHaveLength(0);
    const fresh = await h.connect(server);
    expect(await fresh.request({ t: 'token.renew', token: server.createToken('x') })).toMatchObject({ ok: false, code: 'NOT_LOGGED_IN' });
  });
});

describe('14.2 raw messages', () => {
  it('14.2 peer and channel raw messages keep their bytes and description, live and replayed', async () => {
    const server = await h.server();
    const { client: alice } = await h.loginInRoom(server, 'alice');
    const { client: bob, grant } = await h.loginInRoom(server, 'bob');
    const bytes = base64([0, 1, 2, 255]);
    await alice.ok({ t: 'peer.send', msgId: 'p1', to: 'bob', text: 'a picture', raw: bytes, offline: false });
    expect(await bob.next((f) => f.t === 'peer.msg')).toMatchObject({ raw: bytes, text: 'a picture', offline: false });
    await alice.ok({ t: 'channel.send', msgId: 'c1', channel: 'room', text: '', raw: bytes });
    const live = await bob.next((f) => f.t === 'channel.msg');
    expect(live).toMatchObject({ raw: bytes, text: '' });
    bob.terminate();
    await until(() => server.stats().connections === 1);
    await alice.ok({ t: 'peer.send', msgId: 'p2', to: 'bob', text: '', raw: bytes, offline: false });
    await alice.ok({ t: 'channel.send', msgId: 'c2', channel: 'room', text: 'd', raw: bytes });
    const { client: back } = await h.resume(server, 'bob', grant.sessionId, { peerSeq: 1, channels: [{ channel: 'room', seq: live.seq }] });
    expect(await back.next((f) => f.t === 'peer.msg')).toMatchObject({ raw: bytes, offline: true, msgId: 'p2' });
    expect(await back.next((f) => f.t === 'channel.msg')).toMatchObject({ raw: bytes, text: 'd', historical: true });
  });

  it('R8 14.2 raw bytes plus description over 32 KiB is INVALID_MESSAGE; exactly 32 KiB goes; bad base64 is INVALID_MESSAGE', async () => {
    const server = await h.server();
    const { client: alice } = await h.loginInRoom(server, 'alice');
    const { client: bob } = await h.login(server, 'bob');
    const full = base64(new Uint8Array(MAX_RAW_MESSAGE_BYTES - 2));
    expect(await alice.request({ t: 'peer.send', msgId: 'a', to: 'bob', text: 'ab', raw: full, offline: false })).toMatchObject({ ok: true });
    expect((await bob.next((f) => f.t === 'peer.msg')).raw).toBe(full);
    expect(await alice.request({ t: 'peer.send', msgId: 'b', to: 'bob', text: 'abc', raw: full, offline: false })).toMatchObject({
      ok: false,
      code: 'INVALID_MESSAGE',
    });
    const over = base64(new Uint8Array(MAX_RAW_MESSAGE_BYTES + 1));
    expect(await alice.request({ t: 'channel.send', msgId: 'c', channel: 'room', text: '', raw: over })).toMatchObject({
      ok: false,
      code: 'INVALID_MESSAGE',
    });
    for (const raw of ['abc', 'ab$=', '====']) {
      expect(await alice.request({ t: 'peer.send', msgId: `bad${raw}`, to: 'bob', text: '', raw, offline: false }), raw).toMatchObject({
        ok: false,
        code: 'INVALID_MESSAGE',
      });
    }
    expect(alice.isClosed).toBe(false);
  });
});

describe('14.2 channel attributes of empty channels', () => {
  it('R8 14.2 MemoryStore drops the attributes of a channel empty for emptyChannelAttributesTtlMs, keeps those with members', async () => {
    const { MemoryStore } = await import('../../src/server/index.js');
    const store = new MemoryStore({ emptyChannelAttributesTtlMs: 1000 });
    // The attributes were set a while ago; the last member leaves now.
    const now = Date.now() - 5000;
    const change = { clear: false, remove: [], set: [['k', 'v']] as Array<[string, string]>, by: 'u', ts: now };
    await store.changeChannelAttributes('nobody-joined', change, 32);
    await store.changeChannelAttributes('occupied', change, 32);
    await store.joinChannel('occupied', 'u');
    await store.changeChannelAttributes('left', change, 32);
    await store.joinChannel('left', 'u');
    await store.sweep(now + 500);
    expect((await store.getChannelAttributes('nobody-joined')).length).toBe(1);
    await store.leaveChannel('left', 'u');
    await store.sweep(now + 1001);
    expect(await store.getChannelAttributes('nobody-joined')).toEqual([]);
    expect((await store.getChannelAttributes('occupied')).length).toBe(1);
    // Emptied just now: its minutes count from the last leave.
    expect((await store.getChannelAttributes('left')).length).toBe(1);
    await store.sweep(Date.now() + 1001);
    expect(await store.getChannelAttributes('left')).toEqual([]);
    expect((await store.getChannelAttributes('occupied')).length).toBe(1);
  });
});
