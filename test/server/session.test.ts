/** Login, tokens, presence window, resume, remote login, ban and logout over raw sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/index.js';
import { heartbeatFor } from '../../src/server/index.js';
import { pongDelayMs } from '../../src/server/frame-handler.js';
import { resolveTiming } from '../../machines/timing.js';
import { Harness, testTiming, until } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const h = new Harness();
afterEach(() => h.cleanup());

const presenceOf = async (client: Awaited<ReturnType<Harness['login']>>['client'], uid: string): Promise<boolean> => {
  const data = await client.ok({ t: 'presence.query', uids: [uid] });
  return data.status[0][1] as boolean;
};

describe('R1 login', () => {
  it('R1.2 a valid token logs in and gets a SessionGrant with the heartbeat timings', async () => {
    const server = await h.server({ heartbeat: { intervalMs: 150, timeoutMs: 900 } });
    const { grant } = await h.login(server, 'alice');
    expect(grant).toMatchObject({ sessionExpired: false, heartbeatIntervalMs: 150, heartbeatTimeoutMs: 900 });
    expect(typeof grant.sessionId).toBe('string');
    expect(Math.abs(grant.serverTime - Date.now())).toBeLessThan(5000);
  });

  it('R1.3 a token issued for another uid is INVALID_TOKEN', async () => {
    const server = await h.server();
    const client = await h.connect(server);
    const res = await client.request({ t: 'login', v: 1, uid: 'alice', token: server.createToken('bob') });
    expect(res).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
  });

  it('R1.3 a forged, garbled or foreign-secret token is INVALID_TOKEN', async () => {
    const server = await h.server({ secret: 'one' });
    const other = await h.server({ secret: 'two' });
    const client = await h.connect(server);
    const good = server.createToken('alice');
    const [head, body] = good.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ sub: 'alice', exp: Date.now() / 1000 + 3600 })).toString('base64url');
    for (const token of [other.createToken('alice'), 'not-a-token', `${head}.${forgedBody}.${good.split('.')[2]}`, `${head}.${body}.`]) {
      const res = await client.request({ t: 'login', v: 1, uid: 'alice', token });
      expect(res, token).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
    }
    expect(client.isClosed).toBe(false);
  });

  it('R1.3 an expired token is TOKEN_EXPIRED', async () => {
    const server = await h.server();
    const client = await h.connect(server);
    const res = await client.request({ t: 'login', v: 1, uid: 'alice', token: server.createToken('alice', { expiresInSeconds: -1 }) });
    expect(res).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
  });

  it('R1.3 an invalid uid is INVALID_ARGUMENT and the socket stays open', async () => {
    const server = await h.server();
    const client = await h.connect(server);
    for (const uid of ['', 'has space', 'x'.repeat(65), 'tab\t', 'é']) {
      const res = await client.request({ t: 'login', v: 1, uid, token: server.createToken('alice') });
      expect(res, JSON.stringify(uid)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    }
    await client.ok({ t: 'login', v: 1, uid: 'alice', token: server.createToken('alice') });
    expect(() => server.createToken('bad uid')).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('R1.4 a second login on the same socket is ALREADY_LOGIN', async () => {
    const server = await h.server();
    const { client } = await h.login(server, 'alice');
    const res = await client.request({ t: 'login', v: 1, uid: 'alice', token: server.createToken('alice') });
    expect(res).toMatchObject({ ok: false, code: 'ALREADY_LOGIN' });
  });

  it('R8 requests before login are NOT_LOGGED_IN', async () => {
    const server = await h.server();
    const client = await h.connect(server);
    const res = await client.request({ t: 'peer.send', msgId: 'm', to: 'bob', text: 'x', offline: false });
    expect(res).toMatchObject({ ok: false, code: 'NOT_LOGGED_IN' });
  });
});

describe('heartbeat', () => {
  it('answers ping with pong', async () => {
    const server = await h.server();
    const client = await h.connect(server, { pingEveryMs: 0 });
    client.send({ t: 'ping' });
    await client.next((f) => f.t === 'pong');
  });

  it('R3.1 a ping is answered within a quarter heartbeat interval by whatever the socket gets next; only an idle socket gets a pong', async () => {
    expect(pongDelayMs(200)).toBe(50);
    expect(pongDelayMs(1000)).toBe(250);
    expect(pongDelayMs(8000)).toBe(250);
    // Pinged every 2 s, a ping waits up to 250 ms for another frame.
    const server = await h.server({ heartbeat: { intervalMs: 2000, timeoutMs: 5000 } });
    const alice = await h.login(server, 'alice', { pingEveryMs: 0 });
    await alice.client.ok({ t: 'channel.join', channel: 'room' });
    const bob = await h.login(server, 'bob', { pingEveryMs: 0 });
    await bob.client.ok({ t: 'channel.join', channel: 'room' });
    await alice.client.next((f) => f.t === 'channel.member' && f.uid === 'bob');
    const pongs = () => alice.client.all((f) => f.t === 'pong').length;
    // Busy: the channel message that follows the ping at once answers it.
    const sentAt = Date.now();
    alice.client.send({ t: 'ping' });
    await bob.client.ok({ t: 'channel.send', channel: 'room', msgId: 'm1', text: 'hi' });
    await alice.client.next((f) => f.t === 'channel.msg');
    expect(Date.now() - sentAt).toBeLessThan(250);
    await sleep(400);
    expect(pongs()).toBe(0);
    // Idle: the pong comes on its own, after the delay.
    const pingedAt = Date.now();
    alice.client.send({ t: 'ping' });
    await alice.client.next((f) => f.t === 'pong');
    expect(Date.now() - pingedAt).toBeGreaterThanOrEqual(200);
    expect(Date.now() - pingedAt).toBeLessThan(250 + 500);
    expect(pongs()).toBe(1);
  });

  it('R3.2 timings detect a black-holed link well inside the grace (interval grace/4, timeout grace/2, capped)', () => {
    expect(heartbeatFor(resolveTiming())).toEqual({ intervalMs: 1000, timeoutMs: 2000 });
    expect(heartbeatFor(resolveTiming({ interruptionGraceMs: 200 }))).toEqual({ intervalMs: 50, timeoutMs: 100 });
    expect(heartbeatFor(resolveTiming({ interruptionGraceMs: 60_000, presenceTimeoutMs: 120_000 }))).toEqual({
      intervalMs: 2000,
      timeoutMs: 5000,
    });
  });

  it('R4.1 a socket silent for the heartbeat timeout is closed (4003) and the user stays online', async () => {
    const server = await h.server({ heartbeat: { intervalMs: 50, timeoutMs: 300 } });
    const { client: alice } = await h.login(server, 'alice', { pingEveryMs: 0 });
    const { client: bob } = await h.login(server, 'bob', { pingEveryMs: 50 });
    const closed = await alice.closed;
    expect(closed.code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(await presenceOf(bob, 'alice')).toBe(true);
    expect(bob.isClosed).toBe(false);
  });
});

describe('R4 presence', () => {
  it('R4.1 R4.2 a lost link inside the presence window changes nothing for others and resumes silently', async () => {
    const server = await h.server();
    const alice = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    await alice.client.ok({ t: 'attrs.set', attrs: [['mood', 'ok']] });
    alice.client.terminate();
    await until(() => server.stats().connections === 1, 5000, 'server saw the link lost');
    expect(await presenceOf(bob.client, 'alice')).toBe(true);
    expect((await bob.client.ok({ t: 'channel.members', channel: 'room' })).members.sort()).toEqual(['alice', 'bob']);

    const { client, res } = await h.resume(server, 'alice', alice.grant.sessionId, { channels: [{ channel: 'room', seq: 0 }] });
    expect(res).toMatchObject({ ok: true, data: { sessionId: alice.grant.sessionId, sessionExpired: false } });
    expect((await bob.client.ok({ t: 'attrs.get', uid: 'alice' })).attrs).toEqual([['mood', 'ok']]);
    await client.ok({ t: 'channel.send', msgId: 'after', channel: 'room', text: 'back' });
    await bob.client.next((f) => f.t === 'channel.msg' && f.msgId === 'after');
    expect(bob.client.all((f) => f.t === 'channel.member' && f.uid === 'alice')).toEqual([]);
  });

  it('R4.3 away for the presence timeout: offline, removed from channels (MemberLeft), attributes dropped', async () => {
    const server = await h.server();
    const alice = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    await alice.client.ok({ t: 'attrs.set', attrs: [['mood', 'ok']] });
    const lostAt = Date.now();
    alice.client.terminate();
    const left = await bob.client.next((f) => f.t === 'channel.member' && f.uid === 'alice', 5000);
    const elapsed = Date.now() - lostAt;
    expect(left).toEqual({ t: 'channel.member', channel: 'room', uid: 'alice', joined: false });
    expect(elapsed).toBeGreaterThanOrEqual(testTiming.presenceTimeoutMs - 50);
    expect(await presenceOf(bob.client, 'alice')).toBe(false);
    expect((await bob.client.ok({ t: 'channel.members', channel: 'room' })).members).toEqual(['bob']);
    expect((await bob.client.ok({ t: 'attrs.get', uid: 'alice' })).attrs).toEqual([]);
  });

  it('R4.4 a resume after the presence timeout opens a fresh session (sessionExpired) and the rejoin is announced', async () => {
    const server = await h.server();
    const alice = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    alice.client.terminate();
    await bob.client.next((f) => f.t === 'channel.member' && f.uid === 'alice' && !f.joined, 5000);
    const { client, res } = await h.resume(server, 'alice', alice.grant.sessionId, { channels: [{ channel: 'room', seq: 0 }] });
    expect(res.ok).toBe(true);
    expect(res.data.sessionExpired).toBe(true);
    expect(res.data.sessionId).not.toBe(alice.grant.sessionId);
    // The session starts clean: the client rejoins and re-sends attributes.
    expect((await client.ok({ t: 'channel.join', channel: 'room', lastSeq: 0 })).members.sort()).toEqual(['alice', 'bob']);
    await bob.client.next((f) => f.t === 'channel.member' && f.uid === 'alice' && f.joined);
    expect(await presenceOf(bob.client, 'alice')).toBe(true);
  });

  it('R4.4 a resume with an expired token is TOKEN_EXPIRED and leaves the session alive', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    alice.client.terminate();
    const retry = await h.connect(server);
    const res = await retry.request({
      t: 'resume',
      v: 1,
      uid: 'alice',
      sessionId: alice.grant.sessionId,
      token: server.createToken('alice', { expiresInSeconds: -1 }),
      peerSeq: 0,
      channels: [],
    });
    expect(res).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
    // Same socket, renewed token: the session is still there.
    const again = await retry.request({
      t: 'resume',
      v: 1,
      uid: 'alice',
      sessionId: alice.grant.sessionId,
      token: server.createToken('alice'),
      peerSeq: 0,
      channels: [],
    });
    expect(again).toMatchObject({ ok: true, data: { sessionId: alice.grant.sessionId, sessionExpired: false } });
  });

  it('R4.2 a resume overtaking a half-open socket takes the session over without a kick', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const { res } = await h.resume(server, 'alice', alice.grant.sessionId);
    expect(res).toMatchObject({ ok: true, data: { sessionExpired: false } });
    const closed = await alice.client.closed;
    expect(closed.code).toBe(CloseCode.NORMAL);
    expect(alice.client.all((f) => f.t === 'kick')).toEqual([]);
  });
});

describe('R6 kicked out', () => {
  it('R6.1 a login elsewhere kicks the old socket (REMOTE_LOGIN) and a resume of the old session is kicked too', async () => {
    const server = await h.server();
    const first = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    const second = await h.login(server, 'alice');
    expect(await first.client.next((f) => f.t === 'kick')).toEqual({ t: 'kick', reason: 'REMOTE_LOGIN' });
    expect((await first.client.closed).code).toBe(CloseCode.KICKED);
    expect(second.grant.sessionId).not.toBe(first.grant.sessionId);
    await second.client.ok({ t: 'peer.send', msgId: 'm', to: 'bob', text: 'still me', offline: false });
    await bob.client.next((f) => f.t === 'peer.msg' && f.from === 'alice');

    const stale = await h.connect(server);
    stale.send({ t: 'resume', id: 1, v: 1, uid: 'alice', sessionId: first.grant.sessionId, token: server.createToken('alice'), peerSeq: 0, channels: [] });
    expect(await stale.next((f) => f.t === 'kick')).toEqual({ t: 'kick', reason: 'REMOTE_LOGIN' });
    expect((await stale.closed).code).toBe(CloseCode.KICKED);
    expect(second.client.isClosed).toBe(false);
  });

  it('R6.1 a login while the old session is away ends it (members see MemberLeft) and its resume is kicked', async () => {
    const server = await h.server({ timing: { ...testTiming, presenceTimeoutMs: 20_000 } });
    const first = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    first.client.terminate();
    await until(() => server.stats().connections === 1);
    const second = await h.login(server, 'alice');
    await bob.client.next((f) => f.t === 'channel.member' && f.uid === 'alice' && !f.joined);
    expect((await second.client.ok({ t: 'channel.join', channel: 'room' })).members.sort()).toEqual(['alice', 'bob']);
    const stale = await h.connect(server);
    stale.send({ t: 'resume', id: 1, v: 1, uid: 'alice', sessionId: first.grant.sessionId, token: server.createToken('alice'), peerSeq: 0, channels: [] });
    expect(await stale.next((f) => f.t === 'kick')).toEqual({ t: 'kick', reason: 'REMOTE_LOGIN' });
    expect(second.client.isClosed).toBe(false);
  });

  it("R8 a resume naming another user's session does not take it over", async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    await bob.client.ok({ t: 'logout' });
    const res = await (await h.connect(server)).request({
      t: 'resume',
      v: 1,
      uid: 'bob',
      sessionId: alice.grant.sessionId,
      token: server.createToken('bob'),
      peerSeq: 0,
      channels: [],
    });
    expect(res).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(alice.client.isClosed).toBe(false);
    await alice.client.ok({ t: 'presence.query', uids: ['alice'] });
  });

  it('R6.2 ban kicks (BANNED_BY_SERVER), later logins are REJECTED and resumes kicked', async () => {
    const server = await h.server();
    const alice = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    server.ban('alice');
    expect(await alice.client.next((f) => f.t === 'kick')).toEqual({ t: 'kick', reason: 'BANNED_BY_SERVER' });
    expect((await alice.client.closed).code).toBe(CloseCode.KICKED);
    await bob.client.next((f) => f.t === 'channel.member' && f.uid === 'alice' && !f.joined);
    const again = await h.connect(server);
    expect(await again.request({ t: 'login', v: 1, uid: 'alice', token: server.createToken('alice') })).toMatchObject({
      ok: false,
      code: 'REJECTED',
    });
    const resumer = await h.connect(server);
    resumer.send({ t: 'resume', id: 1, v: 1, uid: 'alice', sessionId: alice.grant.sessionId, token: server.createToken('alice'), peerSeq: 0, channels: [] });
    expect(await resumer.next((f) => f.t === 'kick')).toEqual({ t: 'kick', reason: 'BANNED_BY_SERVER' });
    expect(await presenceOf(bob.client, 'alice')).toBe(false);
  });
});

describe('R7 logout', () => {
  it('R7.1 logout answers ok, closes (4002) and ends the session at once: MemberLeft now, offline, no resume', async () => {
    const server = await h.server({ timing: { ...testTiming, presenceTimeoutMs: 20_000, channelReplayWindowMs: 20_000 } });
    const alice = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    const started = Date.now();
    expect(await alice.client.request({ t: 'logout' })).toMatchObject({ ok: true });
    expect((await alice.client.closed).code).toBe(CloseCode.LOGGED_OUT);
    await bob.client.next((f) => f.t === 'channel.member' && f.uid === 'alice' && !f.joined);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await presenceOf(bob.client, 'alice')).toBe(false);
    const { res } = await h.resume(server, 'alice', alice.grant.sessionId);
    expect(res).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
  });
});
