/**
 * R12.3 fail closed: Redis paused (SIGSTOP) under two node processes. A private redis-server for
 * this file (the shared one from the global setup is never paused). Real `RtmClient`s.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtmClient, type RtmChannel } from '../../src/index.js';
import { createToken } from '../../src/server/index.js';
import type { Timing } from '../../machines/timing.js';
import { freshPrefix, startNode, type ClusterNode } from './cluster/harness.js';
import { waitFor } from './harness.js';
import { freePort, startRedisServer } from '../redis-server.js';

const secret = 'pause-secret';
const timing: Partial<Timing> = { interruptionGraceMs: 2000, presenceTimeoutMs: 30_000, requestTimeoutMs: 20_000 };
let redis: ChildProcess;
let nodes: ClusterNode[] = [];
const clients: RtmClient[] = [];

beforeAll(async () => {
  const port = await freePort();
  redis = await startRedisServer(port);
  const redisUrl = `redis://127.0.0.1:${port}`;
  const keyPrefix = freshPrefix();
  nodes = await Promise.all(['p1', 'p2'].map((nodeId) => startNode({ redisUrl, keyPrefix, secret, nodeId, timing })));
}, 30_000);

afterAll(async () => {
  redis.kill('SIGCONT');
  for (const client of clients) {
    await client.logout().catch(() => undefined);
    client.actor.stop();
  }
  await Promise.all(nodes.map((node) => node.stop()));
  redis.kill('SIGTERM');
});

async function user(uid: string, node: number): Promise<{ client: RtmClient; room: RtmChannel; states: string[]; peer: string[]; channel: string[] }> {
  const client = new RtmClient({ url: nodes[node]!.url, timing });
  clients.push(client);
  const states: string[] = [];
  const peer: string[] = [];
  const channel: string[] = [];
  await client.login({ uid, token: createToken(secret, uid) });
  client.on('ConnectionStateChanged', (state, reason) => states.push(`${state}/${reason}`));
  client.on('MessageFromPeer', (message) => peer.push(message.text));
  const room = client.createChannel('room');
  room.on('ChannelMessage', (message) => channel.push(message.text));
  await room.join();
  return { client, room, states, peer, channel };
}

async function health(node: ClusterNode): Promise<{ status: number; body: { fenced?: boolean } }> {
  const response = await fetch(`http://127.0.0.1:${node.port}/healthz`);
  return { status: response.status, body: (await response.json()) as { fenced?: boolean } };
}

describe('R12.3 Redis paused under the nodes', () => {
  it('R12.3 paused 1 s: nothing closes, every send waits and completes once', async () => {
    const alice = await user('alice', 0);
    const bob = await user('bob', 1);
    redis.kill('SIGSTOP');
    const sends: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 3; i++) {
      sends.push(alice.room.sendMessage({ text: `c${i}` }));
      sends.push(alice.client.sendMessageToPeer({ text: `p${i}` }, 'bob'));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    redis.kill('SIGCONT');
    await Promise.all(sends);
    await waitFor(() => bob.channel.length === 3 && bob.peer.length === 3, 'the sends made while Redis was paused');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bob.channel).toEqual(['c1', 'c2', 'c3']);
    expect(bob.peer).toEqual(['p1', 'p2', 'p3']);
    expect([...alice.states, ...bob.states]).toEqual([]);
    expect((await health(nodes[0]!)).status).toBe(200);
  });

  it('R12.3 paused 5 s: the nodes fence (/healthz 503 fenced), the clients come back after SIGCONT with nothing lost', async () => {
    const carol = await user('carol', 0);
    const dave = await user('dave', 1);
    redis.kill('SIGSTOP');
    const pausedAt = Date.now();
    const sends: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 3; i++) {
      sends.push(carol.room.sendMessage({ text: `c${i}` }));
      sends.push(carol.client.sendMessageToPeer({ text: `p${i}` }, 'dave'));
    }
    // Fenced after about 3 s without a lease renewal: unhealthy, the sockets closed.
    await waitFor(() => carol.client.connectionState !== 'CONNECTED' || carol.states.length > 0, 'carol cut off by the fence', 8000).catch(() => undefined);
    const [h1, h2] = await Promise.all(nodes.map(health));
    expect(h1).toMatchObject({ status: 503, body: { fenced: true } });
    expect(h2).toMatchObject({ status: 503, body: { fenced: true } });
    const fencedAfter = Date.now() - pausedAt;
    // About 3 s without a renewal; a loaded machine runs the lease timers late, and the pause lasts until then.
    expect(fencedAfter).toBeLessThan(8000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5000 - (Date.now() - pausedAt))));
    redis.kill('SIGCONT');
    await waitFor(() => carol.client.connectionState === 'CONNECTED' && dave.client.connectionState === 'CONNECTED', 'both CONNECTED again', 15_000);
    await Promise.all(sends);
    await waitFor(() => dave.channel.length >= 3 && dave.peer.length >= 3, 'every message sent during the pause', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dave.channel).toEqual(['c1', 'c2', 'c3']);
    expect(dave.peer).toEqual(['p1', 'p2', 'p3']);
    expect((await health(nodes[0]!)).status).toBe(200);
    // Back within the presence window: the same sessions, still in the room.
    expect(carol.room.joined && dave.room.joined).toBe(true);
  }, 40_000);
});
