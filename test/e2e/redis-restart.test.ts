/**
 * R12.3 / R11.2: the redis-server under two node processes is killed and started again, empty,
 * on the same port, while real `RtmClient`s stay connected to both nodes. A private
 * redis-server for this file (the shared one from the global setup is never restarted).
 * Before the fix the nodes kept serving the old sessions from memory: a client's channel send
 * was refused NOT_JOINED, and the new history's first seqs were dropped as already seen.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtmClient, type RtmChannel } from '../../src/index.js';
import type { RecoveryReport } from '../../src/client/recovery.js';
import { createToken } from '../../src/server/index.js';
import type { Timing } from '../../machines/timing.js';
import { freshPrefix, startNode, type ClusterNode } from './cluster/harness.js';
import { waitFor } from './harness.js';
import { freePort, startRedisServer } from '../redis-server.js';

const secret = 'restart-secret';
const timing: Partial<Timing> = { interruptionGraceMs: 2000, presenceTimeoutMs: 30_000, requestTimeoutMs: 20_000, loginTimeoutMs: 10_000 };
let port = 0;
let redis: ChildProcess;
let nodes: ClusterNode[] = [];
const clients: RtmClient[] = [];

/** The file's redis-server, empty, on the file's port (again after a kill: the nodes dial the same address). */
const startRedis = (): Promise<ChildProcess> => startRedisServer(port);

beforeAll(async () => {
  port = await freePort();
  redis = await startRedis();
  const keyPrefix = freshPrefix();
  const redisUrl = `redis://127.0.0.1:${port}`;
  nodes = await Promise.all(['r1', 'r2'].map((nodeId) => startNode({ redisUrl, keyPrefix, secret, nodeId, timing })));
}, 30_000);

afterAll(async () => {
  for (const client of clients) {
    await client.logout().catch(() => undefined);
    client.actor.stop();
  }
  await Promise.all(nodes.map((node) => node.stop()));
  redis.kill('SIGTERM');
});

interface User {
  client: RtmClient;
  room: RtmChannel;
  states: string[];
  peer: string[];
  channel: string[];
  reports: RecoveryReport[];
}

async function user(uid: string, node: number): Promise<User> {
  const client = new RtmClient({ url: nodes[node]!.url, timing });
  clients.push(client);
  const u: User = { client, room: client.createChannel('room'), states: [], peer: [], channel: [], reports: [] };
  await client.login({ uid, token: createToken(secret, uid) });
  client.on('ConnectionStateChanged', (state, reason) => u.states.push(`${state}/${reason}`));
  client.on('MessageFromPeer', (message) => u.peer.push(message.text));
  client.on('Recovered', (report) => u.reports.push(report));
  u.room.on('ChannelMessage', (message) => u.channel.push(message.text));
  await u.room.join();
  return u;
}

describe('R12.3 Redis restarted empty under the nodes', () => {
  it('R12.3 R11.2 every client comes back on the new history (NEW_EPOCH), back in its channel, and every later message arrives once and in order on both nodes', async () => {
    const alice = await user('alice', 0);
    const bob = await user('bob', 1);
    const carol = await user('carol', 1);
    // Some history first, so that the old seqs are past the new history's first ones.
    for (let i = 1; i <= 4; i++) {
      await alice.room.sendMessage({ text: `old-c${i}` });
      await alice.client.sendMessageToPeer({ text: `old-p${i}` }, 'bob');
    }
    await waitFor(() => bob.channel.length === 4 && carol.channel.length === 4 && bob.peer.length === 4, 'the old history');
    const users = [alice, bob, carol];
    for (const u of users) {
      u.channel.length = 0;
      u.peer.length = 0;
    }

    redis.kill('SIGKILL');
    await new Promise((resolve) => redis.once('exit', resolve));
    // Sent while Redis is down: each arrives once, or the sender is told it did not (a typed
    // refusal, or hasPeerReceived false: the empty store knows no session of bob's, and an
    // online-only peer message to a user it does not know is not kept), never silently lost.
    const told = (result: unknown) => ((result as { hasPeerReceived?: boolean } | undefined)?.hasPeerReceived === false ? 'not received' : 'sent');
    const during = [
      { what: 'channel', to: [bob, carol], text: 'during-c', send: alice.room.sendMessage({ text: 'during-c' }) as Promise<unknown> },
      { what: 'peer', to: [bob], text: 'during-p', send: alice.client.sendMessageToPeer({ text: 'during-p' }, 'bob') as Promise<unknown> },
    ].map((d) => ({ ...d, outcome: d.send.then(told, (error: { code?: unknown }) => `refused ${String(error?.code)}`) }));
    redis = await startRedis();

    await waitFor(() => users.every((u) => u.reports.length > 0), 'every client reports a recovery', 20_000);
    await waitFor(() => users.every((u) => u.client.connectionState === 'CONNECTED' && u.room.joined), 'every client CONNECTED and in the room', 20_000);
    for (const u of users) {
      expect(u.reports.at(-1)?.session).toBe('NEW_EPOCH');
      expect(u.states.filter((s) => s.startsWith('ABORTED'))).toEqual([]);
    }

    for (const d of during) {
      const outcome = await d.outcome;
      expect(['sent', 'not received'].includes(outcome) || /^refused [A-Z_]+$/.test(outcome), `${d.what}: ${outcome}`).toBe(true);
      const inbox = (u: User) => (d.what === 'peer' ? u.peer : u.channel);
      if (outcome === 'sent') {
        await waitFor(() => d.to.every((u) => inbox(u).includes(d.text)), `${d.what} sent during the restart`, 10_000);
      }
      // Never twice (once at least when the sender was told it was sent: waited for above).
      for (const u of d.to) expect(inbox(u).filter((t) => t === d.text).length).toBeLessThanOrEqual(1);
    }
    for (const u of users) {
      u.channel = u.channel.filter((t) => !t.startsWith('during'));
      u.peer = u.peer.filter((t) => !t.startsWith('during'));
    }

    for (let i = 1; i <= 6; i++) {
      await alice.room.sendMessage({ text: `c${i}` });
      await carol.room.sendMessage({ text: `k${i}` });
      await alice.client.sendMessageToPeer({ text: `p${i}` }, 'bob');
      await bob.client.sendMessageToPeer({ text: `q${i}` }, 'alice');
    }
    const channelFrom = (u: User, prefix: string) => u.channel.filter((t) => t.startsWith(prefix));
    await waitFor(
      () => channelFrom(bob, 'c').length >= 6 && channelFrom(bob, 'k').length >= 6 && channelFrom(alice, 'k').length >= 6 && channelFrom(carol, 'c').length >= 6,
      'the channel messages after the restart, on both nodes',
      10_000,
    );
    await waitFor(() => bob.peer.length >= 6 && alice.peer.length >= 6, 'the peer messages after the restart, across nodes', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const six = (p: string) => [1, 2, 3, 4, 5, 6].map((i) => `${p}${i}`);
    expect(channelFrom(bob, 'c')).toEqual(six('c'));
    expect(channelFrom(bob, 'k')).toEqual(six('k'));
    expect(channelFrom(carol, 'c')).toEqual(six('c'));
    expect(channelFrom(alice, 'k')).toEqual(six('k'));
    expect(channelFrom(alice, 'c')).toEqual([]);
    expect(bob.peer).toEqual(six('p'));
    expect(alice.peer).toEqual(six('q'));
  }, 60_000);
});
