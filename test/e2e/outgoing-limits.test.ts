/**
 * Issue 11, items 2 and 4, end to end: what the client sends never exceeds the server's limits
 * (frame size, WebSocket message size, requests waiting per socket, send rate after an outage),
 * a request that can never fit is refused up front, and a socket the server closes anyway does
 * not make the client re-send the same thing forever. Real clients, a real server, a real proxy.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RtmError, RtmErrorCode, type RtmClient } from '../../src/index.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import {
  elapse,
  fastTiming,
  loggedIn,
  machineState,
  recordChannelMessages,
  recordPeerMessages,
  recordStates,
  takeDown,
  useSystems,
  waitFor,
} from './harness.js';

const start = useSystems();

/** Settles a call to 'resolved' or the RtmError code it rejected with. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'resolved';
  } catch (error) {
    if (!(error instanceof RtmError)) throw error;
    return error.code;
  }
}

function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

/** Sends `perSecond` peer messages a second from `client` to `to` until `stop()`; collects outcomes. */
function steadySender(client: RtmClient, to: string, perSecond: number) {
  const outcomes: Array<Promise<string>> = [];
  let n = 0;
  const began = Date.now();
  // Kept to the schedule by the clock, not by the timer: a loaded machine delays timers, and a
  // tick that comes late sends what the schedule owed (the average rate stays perSecond).
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - began) * perSecond) / 1000);
    while (n < due) {
      const text = `m${n++}`;
      outcomes.push(outcome(() => client.sendMessageToPeer({ text }, to)));
    }
  }, 1000 / perSecond);
  return {
    get sent() {
      return n;
    },
    stop: () => clearInterval(timer),
    settled: () => Promise.all(outcomes),
  };
}

/** A raw socket logged in as `uid`, answering requests by id. */
async function rawSession(url: string, uid: string, token: string) {
  const ws = new WebSocket(url, SUBPROTOCOL);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const answers = new Map<number, { ok: boolean; code?: string }>();
  ws.on('message', (data) => {
    for (const line of String(data).split('\n')) {
      const frame = JSON.parse(line) as { t: string; id?: number; ok?: boolean; code?: string };
      if (frame.t === 'res' && frame.id !== undefined) answers.set(frame.id, { ok: frame.ok === true, code: frame.code });
    }
  });
  let nextId = 1;
  const request = async (body: Record<string, unknown>) => {
    const id = nextId++;
    ws.send(JSON.stringify({ ...body, id }));
    await waitFor(() => answers.has(id), `the answer to ${String(body.t)} #${id}`);
    return answers.get(id)!;
  };
  const granted = await request({ t: 'login', v: 1, uid, token });
  expect(granted.ok).toBe(true);
  return { request, close: () => ws.close() };
}

describe('11.2 R5.5 / R8 a legal send rate through an outage is not refused after it', () => {
  it('R5.5 11.2 40 sends a second through a 2.5 s outage: every send succeeds, in order, once, none TOO_OFTEN', async () => {
    const timing = { ...fastTiming, presenceTimeoutMs: 20_000, requestTimeoutMs: 10_000 };
    const system = await start(timing);
    const alice = await loggedIn(system, 'alice');
    const bob = await loggedIn(system, 'bob', true);
    const got = recordPeerMessages(bob);
    const sender = steadySender(alice, 'bob', 40);
    await elapse(1000);
    await takeDown(system, alice, 'linkLost');
    await elapse(2500);
    system.proxy.restore();
    await waitFor(() => alice.connectionState === 'CONNECTED', 'CONNECTED again');
    await elapse(1000);
    sender.stop();
    const outcomes = await sender.settled();
    expect(tally(outcomes)).toEqual({ resolved: sender.sent });
    expect(sender.sent).toBeGreaterThan(150);
    await waitFor(() => got.length === sender.sent, 'every message at bob', 5000);
    expect(got.map((m) => m.text)).toEqual(Array.from({ length: sender.sent }, (_, i) => `m${i}`));
  });

  it('R5.5 11.2 the server bucket is not assumed full after a resume: a burst just before a short cut, then the queue', async () => {
    const timing = { ...fastTiming, presenceTimeoutMs: 20_000, requestTimeoutMs: 10_000 };
    const system = await start(timing);
    const alice = await loggedIn(system, 'alice');
    const bob = await loggedIn(system, 'bob', true);
    const got = recordPeerMessages(bob);
    // 55 of the 60 a second the server allows, at once: legal, and the bucket is nearly empty.
    const burst = Array.from({ length: 55 }, (_, i) => outcome(() => alice.sendMessageToPeer({ text: `b${i}` }, 'bob')));
    expect(tally(await Promise.all(burst))).toEqual({ resolved: 55 });
    await takeDown(system, alice, 'linkLost');
    // 30 more while the link is down (the app stays under 60 in any second: 85 over ~1.4 s).
    const queued = Array.from({ length: 30 }, (_, i) => outcome(() => alice.sendMessageToPeer({ text: `q${i}` }, 'bob')));
    await elapse(300);
    system.proxy.restore();
    expect(tally(await Promise.all(queued))).toEqual({ resolved: 30 });
    await waitFor(() => got.length === 85, 'all 85 at bob');
  });

  it('R8 11.2 a real flood on a live link still gets TOO_OFTEN', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice');
    await loggedIn(system, 'bob', true);
    const flood = Array.from({ length: 150 }, (_, i) => outcome(() => alice.sendMessageToPeer({ text: `f${i}` }, 'bob')));
    const counts = tally(await Promise.all(flood));
    // 60 from the full bucket, a few more from what refills while the server works through them.
    expect(counts.resolved).toBeGreaterThanOrEqual(60);
    expect(counts[RtmErrorCode.TOO_OFTEN]).toBeGreaterThanOrEqual(50);
    expect(counts[RtmErrorCode.TOO_OFTEN]).toBe(150 - counts.resolved!);
  });

  it('R5.5 11.2 a send repeated with the same msgId (a retry after a cut) does not take a second rate token', async () => {
    // Two sends a second: a burst of two, then nothing for half a second.
    const system = await start(fastTiming, { limits: { rateLimitPerSecond: 2 } });
    await loggedIn(system, 'bob', true);
    const eve = await rawSession(system.server.url, 'eve', system.token('eve'));
    expect(await eve.request({ t: 'channel.join', channel: 'room' })).toMatchObject({ ok: true });
    const peerSend = (msgId: string) => eve.request({ t: 'peer.send', msgId, to: 'bob', text: 'hi', offline: false });
    const channelSend = (msgId: string) => eve.request({ t: 'channel.send', msgId, channel: 'room', text: 'hi' });
    // Each first send takes a token; each retry of it gets the first answer and takes none ...
    expect(await peerSend('p1')).toEqual({ ok: true });
    expect(await peerSend('p1')).toEqual({ ok: true });
    expect(await channelSend('c1')).toEqual({ ok: true });
    expect(await channelSend('c1')).toEqual({ ok: true });
    // ... and new messages are over the limit.
    expect(await peerSend('p2')).toMatchObject({ ok: false, code: 'TOO_OFTEN' });
    expect(await channelSend('c2')).toMatchObject({ ok: false, code: 'TOO_OFTEN' });
    eve.close();
  });

  it('R5.5 11.2 a paced send that is never answered still rejects TIMEOUT after requestTimeoutMs', async () => {
    const timing = { ...fastTiming, presenceTimeoutMs: 20_000, requestTimeoutMs: 1500 };
    const system = await start(timing, { limits: { rateLimitPerSecond: 10 } });
    const alice = await loggedIn(system, 'alice');
    await loggedIn(system, 'bob', true);
    await takeDown(system, alice, 'linkLost');
    await waitFor(() => machineState(alice) === 'CONNECTED.linkLost', 'the link loss noticed');
    // 40 queued at a limit of 10 a second: the flush takes ~4 s, longer than their deadline.
    const began = Date.now();
    const queued = Array.from({ length: 40 }, (_, i) =>
      outcome(() => alice.sendMessageToPeer({ text: `q${i}` }, 'bob')).then((code) => ({ code, after: Date.now() - began })),
    );
    await elapse(200);
    system.proxy.restore();
    const results = await Promise.all(queued);
    const counts = tally(results.map((r) => r.code));
    expect(counts[RtmErrorCode.TOO_OFTEN]).toBeUndefined();
    expect(counts.resolved).toBeGreaterThan(0);
    expect(counts[RtmErrorCode.TIMEOUT]).toBeGreaterThan(0);
    for (const r of results.filter((x) => x.code === RtmErrorCode.TIMEOUT)) {
      expect(r.after).toBeGreaterThanOrEqual(1450);
      expect(r.after).toBeLessThan(3000);
    }
  });
});

describe('11.4 R8 the client never batches past the server limits and never loops', () => {
  it('R8 11.4 ten valid 30 KB sends in one tick all arrive (split into messages the server accepts)', async () => {
    const system = await start({ ...fastTiming, requestTimeoutMs: 5000 });
    const alice = await loggedIn(system, 'alice');
    const bob = await loggedIn(system, 'bob', true);
    const states = recordStates(alice);
    const aliceRoom = alice.createChannel('room');
    const bobRoom = bob.createChannel('room');
    await aliceRoom.join();
    await bobRoom.join();
    const peerGot = recordPeerMessages(bob);
    const roomGot = recordChannelMessages(bobRoom);
    const big = (i: number) => `${i}`.padEnd(30_000, 'x');
    const sends = [
      ...Array.from({ length: 10 }, (_, i) => outcome(() => alice.sendMessageToPeer({ text: big(i) }, 'bob'))),
      ...Array.from({ length: 10 }, (_, i) => outcome(() => aliceRoom.sendMessage({ text: big(i) }))),
    ];
    expect(tally(await Promise.all(sends))).toEqual({ resolved: 20 });
    await waitFor(() => peerGot.length === 10 && roomGot.length === 10, 'all 20 at bob');
    expect(peerGot.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => big(i)));
    expect(states).toEqual([]);
    expect(system.proxy.acceptedCount).toBe(1);
  });

  it('R8 11.4 4200 requests in one tick are all answered (at most 1024 in flight on a socket)', async () => {
    // The server's per-user query budget (issue 12) is off: this is about the client's flow control.
    const system = await start({ ...fastTiming, requestTimeoutMs: 20_000 }, { limits: { queryRateLimitPerSecond: 0 } });
    const alice = await loggedIn(system, 'alice');
    const states = recordStates(alice);
    const queries = Array.from({ length: 4200 }, () => outcome(() => alice.queryPeersOnlineStatus(['alice'])));
    expect(tally(await Promise.all(queries))).toEqual({ resolved: 4200 });
    expect(states).toEqual([]);
    expect(system.proxy.acceptedCount).toBe(1);
  });

  it('R8 11.4 a text whose encoded frame exceeds 64 KiB is INVALID_MESSAGE before anything is sent', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice');
    await loggedIn(system, 'bob', true);
    const room = alice.createChannel('room');
    await room.join();
    const states = recordStates(alice);
    // 12 KiB of control characters: within the 32 KiB text limit, but each one escapes to \u00XX.
    const controls = '\u0001'.repeat(12 * 1024);
    expect(await outcome(() => alice.sendMessageToPeer({ text: controls }, 'bob'))).toBe(RtmErrorCode.INVALID_MESSAGE);
    expect(await outcome(() => room.sendMessage({ text: controls }))).toBe(RtmErrorCode.INVALID_MESSAGE);
    // Nothing went out: the link is the same one and it still works.
    expect(await outcome(() => alice.sendMessageToPeer({ text: 'after' }, 'bob'))).toBe('resolved');
    expect(states).toEqual([]);
    expect(system.proxy.acceptedCount).toBe(1);
  });

  it('R8 11.4 a socket closed with 1009 fails the offending request instead of re-sending it forever', async () => {
    // A server that accepts smaller WebSocket messages than the client's budget.
    const system = await start({ ...fastTiming, requestTimeoutMs: 5000 }, { limits: { maxPayloadBytes: 16 * 1024 } });
    const alice = await loggedIn(system, 'alice');
    const bob = await loggedIn(system, 'bob', true);
    const got = recordPeerMessages(bob);
    const began = Date.now();
    const small = outcome(() => alice.sendMessageToPeer({ text: 'small' }, 'bob'));
    const tooBig = outcome(() => alice.sendMessageToPeer({ text: 'x'.repeat(30_000) }, 'bob'));
    const after = outcome(() => alice.sendMessageToPeer({ text: 'after' }, 'bob'));
    expect(await tooBig).toBe(RtmErrorCode.INVALID_MESSAGE);
    expect(Date.now() - began).toBeLessThan(2000);
    expect(await small).toBe('resolved');
    expect(await after).toBe('resolved');
    await waitFor(() => got.length === 2, 'the two small messages');
    expect(got.map((m) => m.text)).toEqual(['small', 'after']);
    // A couple of redials at most, not one per attempt until the deadline.
    expect(system.proxy.acceptedCount).toBeLessThanOrEqual(4);
    await elapse(300);
    expect(alice.connectionState).toBe('CONNECTED');
  });
});
