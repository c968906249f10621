/**
 * R12: several server processes on one Redis (the shared one from test/redis-setup.ts, a fresh
 * key prefix per file). Real `RtmClient`s reach the nodes through balancers (cluster/harness.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClient } from 'redis';
import { RtmClient } from '../../src/index.js';
import { createToken } from '../../src/server/index.js';
import { freshPrefix, startBalancer, startNode, type Balancer, type ClusterNode } from './cluster/harness.js';
import { elapse, fastTiming, recordChannelMessages, recordMembers, recordPeerMessages, recordStates, waitFor } from './harness.js';

const redisUrl = inject('redisUrl');
const secret = 'cluster-secret';
const keyPrefix = freshPrefix();
const admin = createClient({ url: redisUrl });
let nodes: ClusterNode[] = [];
const balancers: Balancer[] = [];
const clients: RtmClient[] = [];

beforeAll(async () => {
  await admin.connect();
  nodes = await Promise.all(
    ['n1', 'n2'].map((nodeId) =>
      startNode({ redisUrl, keyPrefix, secret, nodeId, timing: fastTiming, heartbeat: { intervalMs: 100, timeoutMs: 600 } }),
    ),
  );
}, 30_000);

afterAll(async () => {
  for (const balancer of balancers) await balancer.close();
  await Promise.all(nodes.map((node) => node.stop()));
  await admin.close();
});

afterEach(async () => {
  for (const client of clients.splice(0)) {
    await client.logout().catch(() => undefined);
    client.actor.stop();
  }
});

/** A client whose connections go to `node` (by index), or as `order()` says at each dial. */
async function clientOn(order: number | (() => number[])): Promise<RtmClient> {
  const ports = typeof order === 'number' ? () => [nodes[order]!.port] : () => order().map((i) => nodes[i]!.port);
  const balancer = await startBalancer(ports);
  balancers.push(balancer);
  const client = new RtmClient({ url: balancer.url, timing: clientTiming });
  clients.push(client);
  return client;
}

async function loggedIn(uid: string, order: number | (() => number[])): Promise<RtmClient> {
  const client = await clientOn(order);
  await client.login({ uid, token: createToken(secret, uid) });
  return client;
}

// Logins get a long deadline: several node processes on a loaded 2-core machine answer slowly, and the login timeout is not what these tests are about.
const clientTiming = { ...fastTiming, loginTimeoutMs: 10_000 };
const texts = (list: Array<{ text: string }>) => list.map((m) => m.text);
const session = (uid: string) => admin.hGetAll(`${keyPrefix}{u:${uid}}:session`);

describe('R12 several nodes on one Redis', () => {
  it('R12.1 channel messages and member events reach the members on the other node, each once and in order', async () => {
    const alice = await loggedIn('c-alice', 0);
    const bob = await loggedIn('c-bob', 1);
    const carol = await loggedIn('c-carol', 1);
    const aliceRoom = alice.createChannel('c-room');
    const bobRoom = bob.createChannel('c-room');
    const carolRoom = carol.createChannel('c-room');
    await aliceRoom.join();
    const aliceMembers = recordMembers(aliceRoom);
    await bobRoom.join();
    await waitFor(() => aliceMembers.includes('+c-bob'), 'MemberJoined c-bob on the other node');
    const bobGot = recordChannelMessages(bobRoom);
    const aliceGot = recordChannelMessages(aliceRoom);
    await carolRoom.join();
    for (let i = 1; i <= 10; i++) {
      await aliceRoom.sendMessage({ text: `a${i}` });
      if (i % 3 === 0) await carolRoom.sendMessage({ text: `c${i}` });
    }
    await waitFor(() => bobGot.length === 13 && aliceGot.length === 3, 'every message on both nodes', 5000);
    expect(texts(bobGot)).toEqual(['a1', 'a2', 'a3', 'c3', 'a4', 'a5', 'a6', 'c6', 'a7', 'a8', 'a9', 'c9', 'a10']);
    expect(texts(aliceGot)).toEqual(['c3', 'c6', 'c9']);
    await carolRoom.leave();
    await waitFor(() => aliceMembers.includes('-c-carol'), 'MemberLeft c-carol on the other node');
    await elapse(100);
    expect(aliceMembers).toEqual(['+c-bob', '+c-carol', '-c-carol']);
  });

  it('R12.1 a peer message reaches a recipient on another node at once, in order, once', async () => {
    const alice = await loggedIn('p-alice', 0);
    const carol = await loggedIn('p-carol', 0);
    const bob = await loggedIn('p-bob', 1);
    const got = recordPeerMessages(bob);
    for (let i = 1; i <= 5; i++) {
      expect(await alice.sendMessageToPeer({ text: `a${i}` }, 'p-bob')).toEqual({ hasPeerReceived: true });
      await carol.sendMessageToPeer({ text: `c${i}` }, 'p-bob');
    }
    await waitFor(() => got.length === 10, 'ten peer messages');
    expect(texts(got)).toEqual(['a1', 'c1', 'a2', 'c2', 'a3', 'c3', 'a4', 'c4', 'a5', 'c5']);
    expect(got.every((m) => !m.props.isOfflineMessage)).toBe(true);
  });

  it('R12.1 hasPeerReceived for a recipient on another node: true while that node holds its socket, false while it is away; the message comes with its resume', async () => {
    const alice = await loggedIn('h-alice', 0);
    let order = [1];
    const bob = await loggedIn('h-bob', () => order);
    const balancer = balancers.at(-1)!;
    const got = recordPeerMessages(bob);
    expect(await alice.sendMessageToPeer({ text: 'while-up' }, 'h-bob')).toEqual({ hasPeerReceived: true });
    // Bob's link breaks and its re-dials are refused: n2 marks the session away.
    order = [];
    balancer.cut();
    const deadline = Date.now() + 3000;
    while ((await session('h-bob')).away === undefined) {
      if (Date.now() > deadline) throw new Error('h-bob was never marked away');
      await elapse(10);
    }
    expect(await alice.sendMessageToPeer({ text: 'while-away' }, 'h-bob')).toEqual({ hasPeerReceived: false });
    order = [1];
    await waitFor(() => got.length === 2, 'the message sent while away, with the resume', 5000);
    expect(texts(got)).toEqual(['while-up', 'while-away']);
  });

  it('R12.3 a login on node B ends the session node A holds: the old instance is ABORTED/REMOTE_LOGIN', async () => {
    const first = await loggedIn('r-dave', 0);
    const states = recordStates(first);
    const room = first.createChannel('r-room');
    await room.join();
    const watcher = await loggedIn('r-watcher', 1);
    const watcherRoom = watcher.createChannel('r-room');
    await watcherRoom.join();
    const members = recordMembers(watcherRoom);
    const second = await loggedIn('r-dave', 1);
    await waitFor(() => states.includes('ABORTED/REMOTE_LOGIN'), 'the old instance ABORTED/REMOTE_LOGIN', 5000);
    expect(second.connectionState).toBe('CONNECTED');
    // The old session left its channels (announced once), and Redis holds the new one, on n2.
    await waitFor(() => members.includes('-r-dave'), 'MemberLeft r-dave');
    expect(await session('r-dave')).toMatchObject({ node: 'n2' });
    await elapse(100);
    expect(members).toEqual(['-r-dave']);
  });

  it('R12.3 two logins 1 ms apart on two nodes leave exactly one session', async () => {
    for (let round = 0; round < 3; round++) {
      const uid = `twin-${round}`;
      const a = await clientOn(0);
      const b = await clientOn(1);
      const statesA = recordStates(a);
      const statesB = recordStates(b);
      const loginA = a.login({ uid, token: createToken(secret, uid) });
      await elapse(1);
      const loginB = b.login({ uid, token: createToken(secret, uid) });
      await Promise.allSettled([loginA, loginB]);
      await waitFor(
        () => [a, b].filter((c) => c.connectionState === 'CONNECTED').length === 1 && [statesA, statesB].some((s) => s.includes('ABORTED/REMOTE_LOGIN')),
        'one CONNECTED, the other ABORTED/REMOTE_LOGIN',
        10_000,
      );
      await elapse(300);
      const winner = a.connectionState === 'CONNECTED' ? a : b;
      expect([a, b].filter((c) => c.connectionState === 'CONNECTED')).toEqual([winner]);
      const stored = await session(uid);
      expect(stored.node).toBe(winner === a ? 'n1' : 'n2');
    }
  });

  it('R12.3 a ban on node B kicks the user node A holds, and its later logins are refused', async () => {
    const eve = await loggedIn('b-eve', 0);
    const states = recordStates(eve);
    nodes[1]!.ban('b-eve');
    await waitFor(() => states.includes('ABORTED/BANNED_BY_SERVER'), 'ABORTED/BANNED_BY_SERVER', 5000);
    expect(await admin.exists(`${keyPrefix}{u:b-eve}:session`)).toBe(0);
    const again = await clientOn(0);
    await expect(again.login({ uid: 'b-eve', token: createToken(secret, 'b-eve') })).rejects.toMatchObject({ code: 'REJECTED' });
  });

  it('R12.2 a resume on another node claims the session; the node that held it lets it go and never ends it', async () => {
    let order = [0, 1];
    const mover = await loggedIn('m-mover', () => order);
    const balancer = balancers.at(-1)!;
    const states = recordStates(mover);
    const moverRoom = mover.createChannel('m-room');
    await moverRoom.join();
    const watcher = await loggedIn('m-watcher', 0);
    const watcherRoom = watcher.createChannel('m-room');
    await watcherRoom.join();
    const members = recordMembers(watcherRoom);
    const got = recordChannelMessages(moverRoom);
    const before = await session('m-mover');
    expect(before.node).toBe('n1');
    // The link to n1 breaks and the next dial reaches n2: a resume there.
    order = [1];
    balancer.cut();
    await watcherRoom.sendMessage({ text: 'while-moving' });
    await waitFor(() => got.length === 1, 'the message sent while it moved', 5000);
    const after = await session('m-mover');
    expect(after.node).toBe('n2');
    expect(Number(after.gen)).toBeGreaterThan(Number(before.gen));
    await watcherRoom.sendMessage({ text: 'after-moving' });
    await waitFor(() => got.length === 2, 'a live message on n2');
    expect(texts(got)).toEqual(['while-moving', 'after-moving']);
    // Past the presence window: n1's timer would have ended it; the user is still in the room.
    await elapse(fastTiming.presenceTimeoutMs + 500);
    expect(members).toEqual([]);
    expect(await admin.sMembers(`${keyPrefix}{c:m-room}:members`)).toContain('m-mover');
    expect(mover.connectionState).toBe('CONNECTED');
    expect(states).toEqual([]);
  });

  it('R12.1 14.2 presence notices and channel attribute notices reach watchers and members on the other node', async () => {
    const watcher = await loggedIn('n-watcher', 0);
    const reports: Array<Record<string, string>> = [];
    watcher.on('PeersOnlineStatusChanged', (status) => reports.push({ ...status }));
    await watcher.subscribePeersOnlineStatus(['n-target']);
    expect(reports).toEqual([{ 'n-target': 'OFFLINE' }]);
    const target = await loggedIn('n-target', 1);
    await waitFor(() => reports.length === 2, 'ONLINE from the other node');
    const watcherRoom = watcher.createChannel('n-room');
    await watcherRoom.join();
    const updates: Array<Record<string, { value: string }>> = [];
    watcherRoom.on('AttributesUpdated', (attributes) => updates.push(attributes));
    await target.addOrUpdateChannelAttributes('n-room', { mode: 'closed' }, { enableNotificationToChannelMembers: true });
    await waitFor(() => updates.length === 1, 'AttributesUpdated from the other node');
    expect(updates[0]?.['mode']?.value).toBe('closed');
    await target.logout();
    await waitFor(() => reports.length === 3, 'OFFLINE from the other node');
    expect(reports.slice(1)).toEqual([{ 'n-target': 'ONLINE' }, { 'n-target': 'OFFLINE' }]);
    await elapse(200);
    // Each once: the publishing node hears its own notice once, through the feed, like the others.
    expect(reports).toHaveLength(3);
    expect(updates).toHaveLength(1);
  });

  it('R12.1 14.2 a channel too large for member events still tells the members on every node its count', async () => {
    // Two more nodes, with member events off above one member: only the count notice can carry the change.
    const quiet = await Promise.all(
      ['q1', 'q2'].map((nodeId) =>
        startNode({ redisUrl, keyPrefix, secret, nodeId, timing: fastTiming, limits: { memberEventsMaxMembers: 1, memberCountIntervalMs: 100 } }),
      ),
    );
    try {
      const client = async (uid: string, node: ClusterNode) => {
        const balancer = await startBalancer(() => [node.port]);
        balancers.push(balancer);
        const c = new RtmClient({ url: balancer.url, timing: clientTiming });
        clients.push(c);
        await c.login({ uid, token: createToken(secret, uid) });
        return c;
      };
      const watcher = await client('q-watcher', quiet[0]!);
      const joiner = await client('q-joiner', quiet[1]!);
      const room = watcher.createChannel('q-room');
      await room.join();
      const counts: number[] = [];
      const members = recordMembers(room);
      room.on('MemberCountUpdated', (count) => counts.push(count));
      // Past the quiet interval of the watcher's own join, whose end would re-read the count anyway.
      await elapse(500);
      await joiner.createChannel('q-room').join();
      await waitFor(() => counts.includes(2), 'MemberCountUpdated 2 after a join on the other node');
      expect(members).toEqual([]);
    } finally {
      for (const c of clients.splice(0)) {
        await c.logout().catch(() => undefined);
        c.actor.stop();
      }
      await Promise.all(quiet.map((node) => node.stop()));
    }
  });
});
