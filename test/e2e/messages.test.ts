/**
 * R5 end to end: messages missed while the link was down are delivered after the reconnect,
 * in order, exactly once, with their replay flag and original server timestamp; messages sent
 * while the sender's link is down are queued, sent once, or time out.
 */
import { describe, expect, it } from 'vitest';
import { RtmError, RtmErrorCode, type PeerMessageDropped } from '../../src/index.js';
import {
  elapse,
  fastTiming,
  loggedIn,
  machineState,
  pairInRoom,
  recordChannelMessages,
  recordPeerMessages,
  recordStates,
  takeDown,
  useSystems,
  waitFor,
} from './harness.js';

const start = useSystems();

function texts(list: Array<{ text: string }>): string[] {
  return list.map((m) => m.text);
}

describe('R5 messages missed while away', () => {
  it('R5.1 peer messages sent while the link is down arrive after the reconnect, in order, once, flagged offline with their server time', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const got = recordPeerMessages(bob);
    await alice.sendMessageToPeer({ text: 'live' }, 'bob');
    await waitFor(() => got.length === 1, 'live message');
    await takeDown(system, bob, 'RECONNECTING');
    const sentFrom = Date.now();
    const answers = [];
    for (let i = 1; i <= 5; i++) answers.push(await alice.sendMessageToPeer({ text: `away-${i}` }, 'bob'));
    const sentUntil = Date.now();
    expect(answers).toEqual(Array(5).fill({ hasPeerReceived: false }));
    system.proxy.restore();
    await waitFor(() => got.length === 6, 'the missed messages');
    await elapse(100);
    expect(texts(got)).toEqual(['live', 'away-1', 'away-2', 'away-3', 'away-4', 'away-5']);
    expect(got[0]!.props.isOfflineMessage).toBe(false);
    for (const message of got.slice(1)) {
      expect(message.from).toBe('alice');
      expect(message.props.isOfflineMessage).toBe(true);
      expect(message.props.isHistoricalMessage).toBe(false);
      expect(message.props.serverReceivedTs).toBeGreaterThanOrEqual(sentFrom - 5);
      expect(message.props.serverReceivedTs).toBeLessThanOrEqual(sentUntil + 5);
    }
  });

  it('R5.1 whatever the length of the absence: after the presence window too', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const got = recordPeerMessages(bob);
    await takeDown(system, bob, 'RECONNECTING');
    await alice.sendMessageToPeer({ text: 'early' }, 'bob');
    await waitFor(() => machineState(bob) === 'RECONNECTING.presenceExpired', 'presence expiry', 5000);
    const late = await alice.sendMessageToPeer({ text: 'late' }, 'bob');
    expect(late).toEqual({ hasPeerReceived: false });
    system.proxy.restore();
    await waitFor(() => got.length === 2, 'both messages');
    await elapse(100);
    expect(texts(got)).toEqual(['early', 'late']);
    expect(got.every((m) => m.props.isOfflineMessage)).toBe(true);
  });

  it('R5.1 a logged-out user gets later only what was sent with enableOfflineMessaging', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    expect(await alice.sendMessageToPeer({ text: 'dropped' }, 'carol')).toEqual({ hasPeerReceived: false });
    expect(await alice.sendMessageToPeer({ text: 'kept' }, 'carol', { enableOfflineMessaging: true })).toEqual({
      hasPeerReceived: false,
    });
    const carol = system.client();
    const got = recordPeerMessages(carol);
    await carol.login({ uid: 'carol', token: system.token('carol') });
    await waitFor(() => got.length === 1, 'the offline message');
    await elapse(100);
    expect(texts(got)).toEqual(['kept']);
    expect(got[0]!.props.isOfflineMessage).toBe(true);
  });

  it('R5.1 storage is bounded: a full inbox rejects the send with MESSAGE_DROPPED, an aged-out message is reported to its sender', async () => {
    const system = await start(fastTiming, { limits: { inboxMaxMessages: 3, inboxMaxAgeMs: 300 } });
    const alice = await loggedIn(system, 'alice', true);
    const dropped: PeerMessageDropped[] = [];
    alice.on('PeerMessageDropped', (d) => dropped.push(d));
    for (let i = 1; i <= 3; i++) await alice.sendMessageToPeer({ text: `m${i}` }, 'dave', { enableOfflineMessaging: true });
    const full = await alice.sendMessageToPeer({ text: 'm4' }, 'dave', { enableOfflineMessaging: true }).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(RtmError);
    expect((full as RtmError).code).toBe(RtmErrorCode.MESSAGE_DROPPED);
    await elapse(400);
    // The next store into that inbox finds the old ones aged out and reports them.
    await alice.sendMessageToPeer({ text: 'fresh' }, 'dave', { enableOfflineMessaging: true });
    await waitFor(() => dropped.length === 3, 'three EXPIRED reports');
    expect(dropped.map((d) => [d.peerId, d.reason])).toEqual(Array(3).fill(['dave', 'EXPIRED']));
    const dave = system.directClient();
    const got = recordPeerMessages(dave);
    await dave.login({ uid: 'dave', token: system.token('dave') });
    await waitFor(() => got.length === 1, 'the fresh message');
    await elapse(100);
    expect(texts(got)).toEqual(['fresh']);
  });

  it('R5.2 messages in flight when the link broke are neither lost nor delivered twice', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const got = recordPeerMessages(bob);
    for (let i = 1; i <= 3; i++) await alice.sendMessageToPeer({ text: `before-${i}` }, 'bob');
    await waitFor(() => got.length === 3, 'the first three');
    // The server writes these to a socket whose bytes vanish: it believes them delivered.
    system.proxy.blackhole();
    const inFlight = [];
    for (let i = 1; i <= 4; i++) inFlight.push(await alice.sendMessageToPeer({ text: `lost-${i}` }, 'bob'));
    expect(inFlight).toEqual(Array(4).fill({ hasPeerReceived: true }));
    await waitFor(() => machineState(bob) === 'CONNECTED.linkLost', 'the heartbeat to notice');
    system.proxy.restore();
    await waitFor(() => got.length === 7, 'the lost four');
    await elapse(200);
    expect(texts(got)).toEqual(['before-1', 'before-2', 'before-3', 'lost-1', 'lost-2', 'lost-3', 'lost-4']);
    expect(got.slice(3).every((m) => m.props.isOfflineMessage)).toBe(true);
  });

  it('R5.3 channel messages missed while RECONNECTING: at most channelReplayMax, the most recent, in order, flagged historical', async () => {
    const system = await start();
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const got = recordChannelMessages(bobRoom);
    await aliceRoom.sendMessage({ text: 'before' });
    await waitFor(() => got.length === 1, 'the live message');
    await takeDown(system, bob, 'RECONNECTING');
    const sentFrom = Date.now();
    for (let i = 1; i <= 40; i++) await aliceRoom.sendMessage({ text: `m${i}` });
    system.proxy.restore();
    await waitFor(() => got.length === 33, '32 replayed messages');
    await elapse(200);
    const expected = Array.from({ length: 32 }, (_, i) => `m${i + 9}`);
    expect(texts(got)).toEqual(['before', ...expected]);
    expect(got[0]!.props.isHistoricalMessage).toBe(false);
    let previousTs = sentFrom - 5;
    for (const message of got.slice(1)) {
      expect(message.from).toBe('alice');
      expect(message.props.isHistoricalMessage).toBe(true);
      expect(message.props.isOfflineMessage).toBe(false);
      expect(message.props.serverReceivedTs).toBeGreaterThanOrEqual(previousTs);
      previousTs = message.props.serverReceivedTs;
    }
  });

  it('R5.3 only messages within channelReplayWindowMs before the reconnect are replayed, none from before the link went down', async () => {
    const system = await start({ ...fastTiming, channelReplayWindowMs: 500 });
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const got = recordChannelMessages(bobRoom);
    for (const text of ['seen-1', 'seen-2']) await aliceRoom.sendMessage({ text });
    await waitFor(() => got.length === 2, 'the live messages');
    await takeDown(system, bob, 'RECONNECTING');
    for (const text of ['old-1', 'old-2']) await aliceRoom.sendMessage({ text });
    await elapse(700);
    for (const text of ['new-1', 'new-2']) await aliceRoom.sendMessage({ text });
    system.proxy.restore();
    await waitFor(() => got.length === 4, 'the recent messages');
    await elapse(200);
    expect(texts(got)).toEqual(['seen-1', 'seen-2', 'new-1', 'new-2']);
  });

  it('R5.4 replay happens for a silent reconnect (no state change) as well', async () => {
    const system = await start({ ...fastTiming, interruptionGraceMs: 1000 });
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const states = recordStates(bob);
    const got = recordChannelMessages(bobRoom);
    const peer = recordPeerMessages(bob);
    await takeDown(system, bob, 'linkLost');
    await aliceRoom.sendMessage({ text: 'c1' });
    await aliceRoom.sendMessage({ text: 'c2' });
    await alice.sendMessageToPeer({ text: 'p1' }, 'bob');
    system.proxy.restore();
    await waitFor(() => got.length === 2 && peer.length === 1, 'the replay');
    await elapse(100);
    expect(states).toEqual([]);
    expect(texts(got)).toEqual(['c1', 'c2']);
    expect(got.every((m) => m.props.isHistoricalMessage)).toBe(true);
    expect(texts(peer)).toEqual(['p1']);
  });

  it('R5.4 R4.4 replay happens after the presence window too, on the rejoin', async () => {
    const system = await start();
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const got = recordChannelMessages(bobRoom);
    await aliceRoom.sendMessage({ text: 'live' });
    await waitFor(() => got.length === 1, 'live');
    await takeDown(system, bob, 'RECONNECTING');
    await aliceRoom.sendMessage({ text: 'while-present' });
    await waitFor(() => machineState(bob) === 'RECONNECTING.presenceExpired', 'presence expiry', 5000);
    await aliceRoom.sendMessage({ text: 'after-expiry' });
    system.proxy.restore();
    await waitFor(() => got.length === 3, 'the replay on rejoin');
    await elapse(200);
    expect(texts(got)).toEqual(['live', 'while-present', 'after-expiry']);
    expect(got.slice(1).every((m) => m.props.isHistoricalMessage)).toBe(true);
  });
});

describe('R5.5 sender side', () => {
  it('R5.5 sends made while the link is down are queued and sent after the reconnect, in order, once each', async () => {
    const system = await start();
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const peer = recordPeerMessages(alice);
    const channel = recordChannelMessages(aliceRoom);
    await takeDown(system, bob, 'linkLost');
    const sends = [];
    for (let i = 1; i <= 5; i++) {
      sends.push(bob.sendMessageToPeer({ text: `q${i}` }, 'alice'));
      sends.push(bobRoom.sendMessage({ text: `c${i}` }));
    }
    await elapse(100);
    expect(peer).toEqual([]);
    system.proxy.restore();
    const answers = await Promise.all(sends);
    expect(answers.filter((a) => a !== undefined)).toEqual(Array(5).fill({ hasPeerReceived: true }));
    await waitFor(() => peer.length === 5 && channel.length === 5, 'the queued messages');
    await elapse(100);
    expect(texts(peer)).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
    expect(texts(channel)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(peer.every((m) => !m.props.isOfflineMessage)).toBe(true);
  });

  it('R5.5 a queued send not acknowledged within requestTimeoutMs rejects with TIMEOUT and is never sent', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const peer = recordPeerMessages(alice);
    await takeDown(system, bob, 'RECONNECTING');
    const started = Date.now();
    const error = await bob.sendMessageToPeer({ text: 'too late' }, 'alice').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(RtmError);
    expect((error as RtmError).code).toBe(RtmErrorCode.TIMEOUT);
    expect(elapsed).toBeGreaterThanOrEqual(system.timing.requestTimeoutMs - 5);
    expect(elapsed).toBeLessThan(system.timing.requestTimeoutMs + 500);
    system.proxy.restore();
    await waitFor(() => bob.connectionState === 'CONNECTED', 'CONNECTED');
    await bob.sendMessageToPeer({ text: 'on time' }, 'alice');
    await waitFor(() => peer.length === 1, 'the next message');
    await elapse(100);
    expect(texts(peer)).toEqual(['on time']);
  });

  it('R5.5 a send whose answer was lost is re-sent with the same message id and delivered once', async () => {
    const system = await start({ ...fastTiming, requestTimeoutMs: 3000 });
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const peer = recordPeerMessages(alice);
    const channel = recordChannelMessages(aliceRoom);
    // Requests reach the server; its answers are lost.
    system.proxy.blackhole('toClient');
    const peerSend = bob.sendMessageToPeer({ text: 'once' }, 'alice');
    const channelSend = bobRoom.sendMessage({ text: 'once in room' });
    await waitFor(() => peer.length === 1 && channel.length === 1, 'delivery of the first transmission');
    await waitFor(() => machineState(bob) === 'CONNECTED.linkLost', 'the heartbeat to notice');
    system.proxy.restore();
    expect(await peerSend).toEqual({ hasPeerReceived: true });
    await channelSend;
    await elapse(200);
    expect(texts(peer)).toEqual(['once']);
    expect(texts(channel)).toEqual(['once in room']);
  });
});
