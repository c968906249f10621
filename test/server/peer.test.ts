/** Peer messages: inbox with seq, cumulative ack, replay on resume, offline storage, bounds, de-dup. */
import { afterEach, describe, expect, it } from 'vitest';
import { delayedStore } from './delayed-store.js';
import { Harness, until } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

const send = (to: string, msgId: string, text = msgId, offline = false) => ({ t: 'peer.send', msgId, to, text, offline });

describe('R5.1 peer messages while away', () => {
  it('R5.1 an online recipient gets it at once with increasing seq and the sender learns hasPeerReceived', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    expect(await alice.client.ok(send('bob', 'm1', 'one'))).toEqual({ hasPeerReceived: true });
    expect(await alice.client.ok(send('bob', 'm2', 'two'))).toEqual({ hasPeerReceived: true });
    const got = await bob.client.collect((f) => f.t === 'peer.msg', 2);
    expect(got.map(({ seq, msgId, from, text, offline }) => ({ seq, msgId, from, text, offline }))).toEqual([
      { seq: 1, msgId: 'm1', from: 'alice', text: 'one', offline: false },
      { seq: 2, msgId: 'm2', from: 'alice', text: 'two', offline: false },
    ]);
    expect(Math.abs(got[0]!.ts - Date.now())).toBeLessThan(5000);
  });

  it('R5.1 messages sent while the link is down arrive after the resume, in order, flagged offline', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    for (let i = 1; i <= 5; i++) expect(await alice.client.ok(send('bob', `m${i}`))).toEqual({ hasPeerReceived: false });
    const { client, res } = await h.resume(server, 'bob', bob.grant.sessionId, { peerSeq: 0 });
    expect(res.ok).toBe(true);
    const got = await client.collect((f) => f.t === 'peer.msg', 5);
    expect(got.map((f) => [f.seq, f.msgId, f.offline])).toEqual([1, 2, 3, 4, 5].map((i) => [i, `m${i}`, true]));
    // The grant comes first, then the replay.
    expect(client.frames[0]).toMatchObject({ t: 'res', ok: true });
  });

  it('R5.1 the inbox survives the presence timeout and is replayed into the fresh session', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    await bob.client.ok({ t: 'channel.join', channel: 'room' });
    await alice.client.ok({ t: 'channel.join', channel: 'room' });
    bob.client.terminate();
    await alice.client.next((f) => f.t === 'channel.member' && f.uid === 'bob' && !f.joined, 5000);
    expect(await alice.client.ok(send('bob', 'late'))).toEqual({ hasPeerReceived: false });
    const { client, res } = await h.resume(server, 'bob', bob.grant.sessionId);
    expect(res.data.sessionExpired).toBe(true);
    expect(await client.next((f) => f.t === 'peer.msg')).toMatchObject({ msgId: 'late', from: 'alice', offline: true });
  });

  it('R5.1 a logged-out or unknown user keeps nothing unless offline messaging was asked for', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    expect(await alice.client.ok(send('carol', 'lost', 'x', false))).toEqual({ hasPeerReceived: false });
    expect(await alice.client.ok(send('carol', 'kept', 'y', true))).toEqual({ hasPeerReceived: false });
    const carol = await h.login(server, 'carol');
    const got = await carol.client.next((f) => f.t === 'peer.msg');
    expect(got).toMatchObject({ msgId: 'kept', from: 'alice', text: 'y', offline: true });
    // Nothing else was stored: a later live message is the next one.
    await alice.client.ok(send('carol', 'live'));
    expect(await carol.client.next((f) => f.t === 'peer.msg')).toMatchObject({ msgId: 'live', offline: false });
    expect(carol.client.all((f) => f.msgId === 'lost')).toEqual([]);
  });

  it('R5.1 logout empties the inbox', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    await alice.client.ok(send('bob', 'before-logout'));
    const back = await h.resume(server, 'bob', bob.grant.sessionId, { peerSeq: 0 });
    await back.client.next((f) => f.t === 'peer.msg');
    await back.client.ok({ t: 'logout' });
    expect(await alice.client.ok(send('bob', 'after-logout', 'x', false))).toEqual({ hasPeerReceived: false });
    const again = await h.login(server, 'bob');
    await again.client.ok({ t: 'presence.query', uids: ['alice'] });
    expect(again.client.all((f) => f.t === 'peer.msg')).toEqual([]);
  });

  it('R5.1 a full inbox rejects the send with MESSAGE_DROPPED', async () => {
    const server = await h.server({ limits: { inboxMaxMessages: 3 } });
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    for (let i = 1; i <= 3; i++) await alice.client.ok(send('bob', `m${i}`));
    expect(await alice.client.request(send('bob', 'm4'))).toMatchObject({ ok: false, code: 'MESSAGE_DROPPED' });
    const { client } = await h.resume(server, 'bob', bob.grant.sessionId);
    const got = await client.collect((f) => f.t === 'peer.msg', 3);
    expect(got.map((f) => f.msgId)).toEqual(['m1', 'm2', 'm3']);
  });

  it('R5.1 a stored message that ages out is reported to its sender (peer.dropped EXPIRED)', async () => {
    const server = await h.server({ limits: { inboxMaxAgeMs: 300 } });
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    await alice.client.ok(send('bob', 'old'));
    expect(await alice.client.next((f) => f.t === 'peer.dropped', 5000)).toEqual({
      t: 'peer.dropped',
      msgId: 'old',
      to: 'bob',
      reason: 'EXPIRED',
    });
    const { client } = await h.resume(server, 'bob', bob.grant.sessionId);
    await client.ok({ t: 'presence.query', uids: ['bob'] });
    expect(client.all((f) => f.t === 'peer.msg')).toEqual([]);
  });
});

describe('R5.2 in-flight messages', () => {
  it('R5.2 unacknowledged messages after the named seq are re-sent on resume, acknowledged ones are not', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    for (let i = 1; i <= 4; i++) await alice.client.ok(send('bob', `m${i}`));
    await bob.client.collect((f) => f.t === 'peer.msg', 4);
    bob.client.send({ t: 'peer.ack', seq: 2 });
    // The client saw up to 3 (3 in flight, not acked; 4 lost with the link).
    await alice.client.ok({ t: 'presence.query', uids: ['bob'] });
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    const { client } = await h.resume(server, 'bob', bob.grant.sessionId, { peerSeq: 3 });
    const got = await client.next((f) => f.t === 'peer.msg');
    expect(got).toMatchObject({ seq: 4, msgId: 'm4', offline: true });
    await alice.client.ok(send('bob', 'm5'));
    expect(await client.next((f) => f.t === 'peer.msg')).toMatchObject({ seq: 5, msgId: 'm5', offline: false });
    expect(client.all((f) => f.t === 'peer.msg').map((f) => f.seq)).toEqual([4, 5]);

    // A resume naming an older seq gets everything not yet acknowledged (3, 4, 5), never 1 or 2.
    client.terminate();
    await until(() => server.stats().connections === 1);
    const again = await h.resume(server, 'bob', bob.grant.sessionId, { peerSeq: 0 });
    const replayed = await again.client.collect((f) => f.t === 'peer.msg', 3);
    expect(replayed.map((f) => f.seq)).toEqual([3, 4, 5]);
  });

  it('R5.2 messages sent during the resume are neither lost nor duplicated', async () => {
    const server = await h.server({ limits: { rateLimitPerSecond: 0 } });
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    let sent = 0;
    let sending = true;
    const pump = (async () => {
      while (sending || sent < 50) {
        await alice.client.ok(send('bob', `m${++sent}`));
        if (sent >= 200) break;
      }
    })();
    await until(() => sent >= 20);
    const { client } = await h.resume(server, 'bob', bob.grant.sessionId);
    sending = false;
    await pump;
    const got = await client.collect((f) => f.t === 'peer.msg', sent);
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  });
});

describe('R5.2 acknowledgements', () => {
  it('R5.2 an ack past what the socket was given is clamped: the undelivered message is replayed on resume', async () => {
    // The store has the message at once, but answers the append 150 ms late: meanwhile bob acks a
    // seq he was never given and his socket goes away, so the message never reaches him live.
    const server = await h.server({ store: delayedStore({ seed: 9, maxDelayMs: 0, slowAnswers: { appendToInbox: 150 } }) });
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    const sent = alice.client.ok(send('bob', 'm1'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    bob.client.send({ t: 'peer.ack', seq: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    bob.client.terminate();
    expect(await sent).toEqual({ hasPeerReceived: false });
    const { client, res } = await h.resume(server, 'bob', bob.grant.sessionId as string, { peerSeq: 0 });
    expect(res.ok).toBe(true);
    const got = await client.collect((f) => f.t === 'peer.msg', 1);
    expect(got.map((f) => [f.seq, f.msgId, f.offline])).toEqual([[1, 'm1', true]]);
  });
});

describe('R5.5 retried sends', () => {
  it('R5.5 a retried send with the same msgId gets the same answer and is delivered once', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    const first = await alice.client.ok(send('bob', 'same', 'hello'));
    // The retry comes on a new socket after a reconnect.
    alice.client.terminate();
    const { client } = await h.resume(server, 'alice', alice.grant.sessionId);
    const retry = await client.ok(send('bob', 'same', 'hello'));
    expect(retry).toEqual(first);
    await client.ok(send('bob', 'next', 'after'));
    await bob.client.next((f) => f.msgId === 'next');
    expect(bob.client.all((f) => f.t === 'peer.msg').map((f) => f.msgId)).toEqual(['same', 'next']);
  });

  it('R5.5 two copies racing on two sockets are delivered once', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    const { client: second } = await h.resume(server, 'alice', alice.grant.sessionId);
    const [a, b] = await Promise.all([second.ok(send('bob', 'dup')), second.ok(send('bob', 'dup'))]);
    expect(a).toEqual(b);
    await second.ok(send('bob', 'marker'));
    await bob.client.next((f) => f.msgId === 'marker');
    expect(bob.client.all((f) => f.msgId === 'dup')).toHaveLength(1);
  });

  it('R5.5 channel sends are de-duplicated by msgId too', async () => {
    const server = await h.server();
    const alice = await h.loginInRoom(server, 'alice');
    const bob = await h.loginInRoom(server, 'bob');
    await alice.client.ok({ t: 'channel.send', msgId: 'c1', channel: 'room', text: 'x' });
    await alice.client.ok({ t: 'channel.send', msgId: 'c1', channel: 'room', text: 'x' });
    await alice.client.ok({ t: 'channel.send', msgId: 'c2', channel: 'room', text: 'y' });
    await bob.client.next((f) => f.msgId === 'c2');
    expect(bob.client.all((f) => f.t === 'channel.msg').map((f) => f.msgId)).toEqual(['c1', 'c2']);
  });
});

describe('R8 peer message rules', () => {
  it('R8 the server stamps the sender: a forged from is ignored', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    await alice.client.ok({ ...send('bob', 'forged'), from: 'mallory' });
    expect(await bob.client.next((f) => f.t === 'peer.msg')).toMatchObject({ from: 'alice' });
  });

  it("R8 nobody reads another user's inbox: a resume as another uid needs that uid's token", async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    const bob = await h.login(server, 'bob');
    bob.client.terminate();
    await until(() => server.stats().connections === 1);
    await alice.client.ok(send('bob', 'secret'));
    const thief = await h.connect(server);
    const res = await thief.request({
      t: 'resume',
      v: 1,
      uid: 'bob',
      sessionId: bob.grant.sessionId,
      token: server.createToken('alice'),
      peerSeq: 0,
      channels: [],
    });
    expect(res).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
    expect(thief.all((f) => f.t === 'peer.msg')).toEqual([]);
  });

  it('R8 text over 32 KiB is INVALID_MESSAGE and the socket stays open; exactly 32 KiB passes', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    await h.login(server, 'bob');
    expect(await alice.client.request(send('bob', 'big', 'x'.repeat(32 * 1024 + 1)))).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    expect(await alice.client.request(send('bob', 'wide', 'é'.repeat(16 * 1024 + 1)))).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    expect(await alice.client.ok(send('bob', 'max', 'x'.repeat(32 * 1024)))).toEqual({ hasPeerReceived: true });
    expect(alice.client.isClosed).toBe(false);
  });

  it('R8 over the per-user rate gets TOO_OFTEN, and the budget refills', async () => {
    const server = await h.server({ limits: { rateLimitPerSecond: 10 } });
    const alice = await h.login(server, 'alice');
    await h.login(server, 'bob');
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => alice.client.request(send('bob', `r${i}`))));
    expect(answers.filter((a) => a.ok)).toHaveLength(10);
    expect(answers.filter((a) => !a.ok).every((a) => a.code === 'TOO_OFTEN')).toBe(true);
    expect(answers.filter((a) => !a.ok)).toHaveLength(5);
    await until(async () => (await alice.client.request(send('bob', `later${Date.now()}`))).ok, 3000, 'rate refilled');
  });

  it('R8 the default rate limit is 60 sends a second', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    await h.login(server, 'bob');
    const answers = await Promise.all(Array.from({ length: 70 }, (_, i) => alice.client.request(send('bob', `d${i}`))));
    const ok = answers.filter((a) => a.ok).length;
    // 60 from the bucket plus whatever refilled while the burst was processed.
    expect(ok).toBeGreaterThanOrEqual(60);
    expect(ok).toBeLessThan(70);
  });
});
