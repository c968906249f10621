/**
 * R11 end to end: after every reconnect the client reports what it recovered, a restarted
 * server (a new history) is never mistaken for duplicates, a resume refused for its token ends
 * the login instead of retrying unseen, and live messages that follow a join answer are kept.
 */
import { describe, expect, it } from 'vitest';
import { RtmClient, type RecoveryReport } from '../../src/index.js';
import { createRtmServer, MemoryStore, type RtmServer } from '../../src/server/index.js';
import {
  elapse,
  fastTiming,
  loggedIn,
  pairInRoom,
  recordChannelMessages,
  recordMembers,
  recordPeerMessages,
  recordStates,
  takeDown,
  useSystems,
  waitFor,
} from './harness.js';

const start = useSystems();

function recordRecoveries(client: RtmClient): RecoveryReport[] {
  const seen: RecoveryReport[] = [];
  client.on('Recovered', (report) => seen.push(report));
  return seen;
}

const texts = (list: Array<{ text: string }>) => list.map((m) => m.text);

/** A server on a fixed port that can be stopped and started again there, as a restart. */
async function restartable(secret: string) {
  const events: string[] = [];
  const logger = { log: (_level: string, event: string) => void events.push(event) };
  const options = { inspector: false, timing: fastTiming, heartbeat: { intervalMs: 100, timeoutMs: 600 }, secret, logger };
  let server: RtmServer = await createRtmServer({ ...options, port: 0 });
  const port = server.port;
  return {
    get server() {
      return server;
    },
    url: server.url,
    /** Every event the servers logged ('socket.opened', 'token.rejected', …). */
    events,
    async restart(withSecret = secret) {
      await server.close();
      server = await createRtmServer({ ...options, port, secret: withSecret });
    },
    close: () => server.close(),
  };
}

describe('R11.2 a restarted server is a new history', () => {
  it('R11.2 R5.1 R5.3 after a restart on the same port and secret, every later peer and channel message arrives; the report says NEW_EPOCH', async () => {
    const rig = await restartable('restart-secret');
    const alice = new RtmClient({ url: rig.url, timing: fastTiming });
    const bob = new RtmClient({ url: rig.url, timing: fastTiming });
    try {
      await alice.login({ uid: 'alice', token: rig.server.createToken('alice') });
      await bob.login({ uid: 'bob', token: rig.server.createToken('bob') });
      const aliceRoom = alice.createChannel('room');
      const bobRoom = bob.createChannel('room');
      await aliceRoom.join();
      await bobRoom.join();
      const peer = recordPeerMessages(alice);
      const channel = recordChannelMessages(aliceRoom);
      const reports = recordRecoveries(alice);
      for (let i = 1; i <= 5; i++) {
        await bob.sendMessageToPeer({ text: `p-before-${i}` }, 'alice');
        await bobRoom.sendMessage({ text: `c-before-${i}` });
      }
      await waitFor(() => peer.length === 5 && channel.length === 5, 'the messages before the restart');

      await rig.restart();
      await waitFor(() => reports.length === 1, "alice's recovery report");
      const bobBack = recordRecoveries(bob);
      await waitFor(() => bobBack.length === 1 || bob.connectionState === 'CONNECTED', 'bob back');
      await waitFor(() => bobRoom.joined && aliceRoom.joined, 'both in the room again');
      await elapse(100); // bob's rejoin reaches the new server

      const answers = [];
      for (let i = 1; i <= 8; i++) {
        answers.push(await bob.sendMessageToPeer({ text: `p-after-${i}` }, 'alice'));
        await bobRoom.sendMessage({ text: `c-after-${i}` });
      }
      expect(answers).toEqual(Array(8).fill({ hasPeerReceived: true }));
      await waitFor(() => peer.length === 13 && channel.length === 13, 'every message after the restart');
      expect(texts(peer).slice(5)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `p-after-${i}`));
      expect(texts(channel).slice(5)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `c-after-${i}`));
      expect(reports[0]).toMatchObject({
        session: 'NEW_EPOCH',
        peer: { complete: false, lost: null, reason: 'NEW_EPOCH' },
        channels: [{ channelId: 'room', complete: false, lost: null, reason: 'NEW_EPOCH' }],
      });
    } finally {
      await alice.logout();
      await bob.logout();
      alice.actor.stop();
      bob.actor.stop();
      await rig.close();
    }
  });

  it('R11 a resume refused for its token (a restart with another secret) ends the login: DISCONNECTED / LOGIN_FAILURE', async () => {
    const rig = await restartable('first-secret');
    const alice = new RtmClient({ url: rig.url, timing: fastTiming });
    try {
      const states = recordStates(alice);
      await alice.login({ uid: 'alice', token: rig.server.createToken('alice') });
      await rig.restart('another-secret');
      await waitFor(() => alice.connectionState === 'DISCONNECTED', 'DISCONNECTED', 3000);
      expect(states).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS', 'DISCONNECTED/LOGIN_FAILURE']);
      // And no re-dial goes on behind it.
      const dials = rig.events.filter((e) => e === 'socket.opened').length;
      await elapse(500);
      expect(rig.events.filter((e) => e === 'socket.opened').length).toBe(dials);
      expect(rig.events.filter((e) => e === 'token.rejected')).toHaveLength(1);
      await alice.login({ uid: 'alice', token: rig.server.createToken('alice') });
      expect(alice.connectionState).toBe('CONNECTED');
    } finally {
      await alice.logout();
      alice.actor.stop();
      await rig.close();
    }
  });
});

describe('R11.1 the recovery report', () => {
  it('R11.1 a silent reconnect reports the replayed peer and channel messages, complete', async () => {
    const system = await start();
    const { alice, bob, aliceRoom } = await pairInRoom(system);
    const reports = recordRecoveries(bob);
    await takeDown(system, bob, 'linkLost');
    for (let i = 1; i <= 3; i++) {
      await alice.sendMessageToPeer({ text: `p${i}` }, 'bob');
      await aliceRoom.sendMessage({ text: `c${i}` });
    }
    system.proxy.restore();
    await waitFor(() => reports.length === 1, 'the report');
    expect(reports[0]).toEqual({
      session: 'RESUMED',
      silent: true,
      peer: { replayed: 3, complete: true, lost: 0, reason: null },
      channels: [{ channelId: 'room', replayed: 3, complete: true, lost: 0, reason: null }],
    });
    await elapse(200);
    expect(reports).toHaveLength(1);
  });

  it('R11.1 R5.3 more missed than the replay cap: REPLAY_CAP and how many were lost', async () => {
    const system = await start(fastTiming, { limits: { rateLimitPerSecond: 0 } });
    const { aliceRoom, bob } = await pairInRoom(system);
    const reports = recordRecoveries(bob);
    await takeDown(system, bob, 'RECONNECTING');
    for (let i = 1; i <= 40; i++) await aliceRoom.sendMessage({ text: `c${i}` });
    system.proxy.restore();
    await waitFor(() => reports.length === 1, 'the report');
    expect(reports[0]).toMatchObject({
      session: 'RESUMED',
      silent: false,
      channels: [{ channelId: 'room', replayed: 32, complete: false, lost: 8, reason: 'REPLAY_CAP' }],
    });
  });

  it('R11.1 R5.3 missed messages older than the replay window: REPLAY_WINDOW', async () => {
    const timing = { ...fastTiming, presenceTimeoutMs: 10_000, channelReplayWindowMs: 500 };
    const system = await start(timing);
    const { aliceRoom, bob } = await pairInRoom(system);
    const reports = recordRecoveries(bob);
    await takeDown(system, bob, 'RECONNECTING');
    await aliceRoom.sendMessage({ text: 'old-1' });
    await aliceRoom.sendMessage({ text: 'old-2' });
    await elapse(700);
    await aliceRoom.sendMessage({ text: 'new-1' });
    system.proxy.restore();
    await waitFor(() => reports.length === 1, 'the report');
    expect(reports[0]!.channels).toEqual([{ channelId: 'room', replayed: 1, complete: false, lost: 2, reason: 'REPLAY_WINDOW' }]);
  });

  it('R11.1 R4.4 after the presence window: PRESENCE_EXPIRED, the channel rejoined and its replay reported', async () => {
    const system = await start();
    const { aliceRoom, bob, bobRoom } = await pairInRoom(system);
    const reports = recordRecoveries(bob);
    const got = recordChannelMessages(bobRoom);
    await takeDown(system, bob, 'RECONNECTING');
    await aliceRoom.sendMessage({ text: 'while-away' });
    await elapse(system.timing.presenceTimeoutMs + 200);
    system.proxy.restore();
    await waitFor(() => reports.length === 1, 'the report');
    expect(reports[0]).toEqual({
      session: 'PRESENCE_EXPIRED',
      silent: false,
      peer: { replayed: 0, complete: true, lost: 0, reason: null },
      channels: [{ channelId: 'room', replayed: 1, complete: true, lost: 0, reason: null }],
    });
    expect(texts(got)).toEqual(['while-away']);
  });

  it('R11.1 R5.1 peer messages refused by the inbox bound while away: INBOX_BOUND with the count', async () => {
    const system = await start(fastTiming, { limits: { inboxMaxMessages: 3 } });
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const reports = recordRecoveries(bob);
    await takeDown(system, bob, 'linkLost');
    const outcomes: string[] = [];
    for (let i = 1; i <= 5; i++) {
      outcomes.push(
        await alice.sendMessageToPeer({ text: `p${i}` }, 'bob').then(
          () => 'ok',
          (error: { code: string }) => error.code,
        ),
      );
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'MESSAGE_DROPPED', 'MESSAGE_DROPPED']);
    system.proxy.restore();
    await waitFor(() => reports.length === 1, 'the report');
    expect(reports[0]!.peer).toEqual({ replayed: 3, complete: false, lost: 2, reason: 'INBOX_BOUND' });
  });
});

describe('R5.3 a join into a busy channel', () => {
  it('R5.3 live messages and member events that follow the join answer in the same WebSocket message are delivered', async () => {
    // The members list answers 100 ms late: meanwhile bob publishes and carol joins. The server
    // holds those for alice and sends them right behind her join answer.
    class SlowMembers extends MemoryStore {
      slow = false;
      override async channelMembers(channel: string): Promise<string[]> {
        const members = await super.channelMembers(channel);
        if (this.slow) await elapse(100);
        return members;
      }
    }
    const store = new SlowMembers();
    const system = await start(fastTiming, { store });
    const bob = await loggedIn(system, 'bob', true);
    const bobRoom = bob.createChannel('room');
    await bobRoom.join();
    const alice = await loggedIn(system, 'alice', true);
    const carol = await loggedIn(system, 'carol', true);
    const aliceRoom = alice.createChannel('room');
    const got = recordChannelMessages(aliceRoom);
    const members = recordMembers(aliceRoom);
    store.slow = true;
    const joined = aliceRoom.join();
    await elapse(30);
    await bobRoom.sendMessage({ text: 'during-the-join' });
    const carolJoined = carol.createChannel('room').join();
    await joined;
    store.slow = false;
    await carolJoined;
    await bobRoom.sendMessage({ text: 'after-the-join' });
    await waitFor(() => got.length === 2, 'both messages');
    expect(texts(got)).toEqual(['during-the-join', 'after-the-join']);
    expect(members).toEqual(['+carol']);
  });
});
