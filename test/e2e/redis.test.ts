/**
 * Issue 13 step 1 end to end: the server rules on a RedisStore. Real sockets, a real server,
 * a real redis-server (see test/redis-setup.ts). This file keeps to Redis database 1 (other files
 * use 0) because it empties its database to play "Redis came back empty".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { RtmClient, type RecoveryReport } from '../../src/index.js';
import { createRtmServer, type RtmServer, type RtmServerOptions } from '../../src/server/index.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';
import {
  elapse,
  fastTiming,
  recordChannelMessages,
  recordMembers,
  recordPeerMessages,
  recordStates,
  waitFor,
} from './harness.js';

const base = new URL(inject('redisUrl'));
base.pathname = '/1';
const redisUrl = base.toString();
const admin = createClient({ url: redisUrl });
beforeAll(() => admin.connect());
afterAll(() => admin.close());

const secret = 'redis-e2e-secret';
const texts = (list: Array<{ text: string }>) => list.map((m) => m.text);

function recordRecoveries(client: RtmClient): RecoveryReport[] {
  const seen: RecoveryReport[] = [];
  client.on('Recovered', (report) => seen.push(report));
  return seen;
}

/** A server on a Redis store (fresh key prefix) that can be restarted on the same port, with a fault proxy for bob. */
interface Rig {
  readonly server: RtmServer;
  readonly proxy: FaultProxy;
  keyPrefix: string;
  restart(): Promise<void>;
  /** alice straight to the server, bob through the proxy. */
  client(via: 'direct' | 'proxy'): RtmClient;
  token(uid: string): string;
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.close();
});

async function startRig(): Promise<Rig> {
  const keyPrefix = `e2e:${randomBytes(6).toString('hex')}:`;
  const options: RtmServerOptions = {
    inspector: false,
    timing: fastTiming,
    heartbeat: { intervalMs: 100, timeoutMs: 600 },
    secret,
    redis: { url: redisUrl, keyPrefix },
  };
  let server = await createRtmServer({ ...options, port: 0 });
  const port = server.port;
  const proxy = await createFaultProxy({ target: server.url });
  const clients: RtmClient[] = [];
  running.push({
    async close() {
      for (const client of clients) {
        await client.logout().catch(() => undefined);
        client.actor.stop();
      }
      await proxy.close();
      await server.close();
    },
  });
  return {
    get server() {
      return server;
    },
    proxy,
    keyPrefix,
    async restart() {
      await server.close();
      server = await createRtmServer({ ...options, port });
    },
    client(via) {
      const client = new RtmClient({ url: via === 'direct' ? server.url : proxy.url, timing: fastTiming });
      clients.push(client);
      return client;
    },
    token: (uid) => server.createToken(uid),
  };
}

async function pair(rig: Rig) {
  const alice = rig.client('direct');
  const bob = rig.client('proxy');
  await alice.login({ uid: 'alice', token: rig.token('alice') });
  await bob.login({ uid: 'bob', token: rig.token('bob') });
  const aliceRoom = alice.createChannel('room');
  const bobRoom = bob.createChannel('room');
  await aliceRoom.join();
  await bobRoom.join();
  return { alice, bob, aliceRoom, bobRoom };
}

describe('13.1 the server on a RedisStore', () => {
  it('13.1 R5.1 R5.3 R11.1 login, then a resume replays the peer and channel messages sent while away', async () => {
    const rig = await startRig();
    const { alice, bob, aliceRoom, bobRoom } = await pair(rig);
    const peer = recordPeerMessages(bob);
    const channel = recordChannelMessages(bobRoom);
    const reports = recordRecoveries(bob);
    rig.proxy.refuse();
    rig.proxy.cut();
    await waitFor(() => bob.connectionState === 'RECONNECTING', 'bob RECONNECTING');
    for (let i = 1; i <= 3; i++) {
      expect(await alice.sendMessageToPeer({ text: `p${i}` }, 'bob')).toEqual({ hasPeerReceived: false });
      await aliceRoom.sendMessage({ text: `c${i}` });
    }
    // The messages are in Redis, as streams keyed by seq.
    expect((await admin.xRange(`${rig.keyPrefix}{u:bob}:inbox`, '-', '+'))?.map((e) => e.id)).toEqual(['1-1', '2-1', '3-1']);
    rig.proxy.restore();
    await waitFor(() => reports.length === 1, "bob's recovery report");
    await waitFor(() => peer.length === 3 && channel.length === 3, 'the replayed messages');
    expect(texts(peer)).toEqual(['p1', 'p2', 'p3']);
    expect(peer.every((m) => m.props.isOfflineMessage)).toBe(true);
    expect(texts(channel)).toEqual(['c1', 'c2', 'c3']);
    expect(reports[0]).toMatchObject({
      session: 'RESUMED',
      peer: { replayed: 3, complete: true, lost: 0 },
      channels: [{ channelId: 'room', replayed: 3, complete: true, lost: 0 }],
    });
  });

  it('13.1 R4.3 away past presenceTimeoutMs: offline in Redis, and the other member gets MemberLeft', async () => {
    const rig = await startRig();
    const { alice, aliceRoom } = await pair(rig);
    const members = recordMembers(aliceRoom);
    rig.proxy.refuse();
    const cutAt = Date.now();
    rig.proxy.cut();
    await waitFor(() => members.includes('-bob'), 'MemberLeft bob', 5000);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(fastTiming.presenceTimeoutMs - 5);
    expect(await alice.queryPeersOnlineStatus(['bob'])).toEqual({ bob: false });
    expect(await admin.exists(`${rig.keyPrefix}{u:bob}:session`)).toBe(0);
    expect(await admin.sMembers(`${rig.keyPrefix}{c:room}:members`)).toEqual(['alice']);
  });

  it('13.1 R11.2 a restart of the server on the same Redis: both resume, the epoch is unchanged, nothing sent meanwhile is lost', async () => {
    const rig = await startRig();
    const { alice, bob, aliceRoom, bobRoom } = await pair(rig);
    const peer = recordPeerMessages(bob);
    const channel = recordChannelMessages(bobRoom);
    const bobReports = recordRecoveries(bob);
    const aliceReports = recordRecoveries(alice);
    const epoch = await admin.get(`${rig.keyPrefix}epoch`);
    rig.proxy.refuse();
    rig.proxy.cut();
    await waitFor(() => bob.connectionState === 'RECONNECTING', 'bob RECONNECTING');
    for (let i = 1; i <= 3; i++) {
      await alice.sendMessageToPeer({ text: `before-${i}` }, 'bob');
      await aliceRoom.sendMessage({ text: `room-before-${i}` });
    }
    await rig.restart();
    await waitFor(() => aliceReports.length === 1, "alice's recovery report");
    rig.proxy.restore();
    await waitFor(() => bobReports.length === 1, "bob's recovery report");
    for (let i = 1; i <= 2; i++) {
      expect(await alice.sendMessageToPeer({ text: `after-${i}` }, 'bob')).toEqual({ hasPeerReceived: true });
      await aliceRoom.sendMessage({ text: `room-after-${i}` });
    }
    await waitFor(() => peer.length === 5 && channel.length === 5, 'every message');
    expect(texts(peer)).toEqual(['before-1', 'before-2', 'before-3', 'after-1', 'after-2']);
    expect(texts(channel)).toEqual(['room-before-1', 'room-before-2', 'room-before-3', 'room-after-1', 'room-after-2']);
    expect(await admin.get(`${rig.keyPrefix}epoch`)).toBe(epoch);
    expect(aliceReports[0]).toMatchObject({ session: 'RESUMED', peer: { complete: true } });
    expect(bobReports[0]).toMatchObject({
      session: 'RESUMED',
      peer: { replayed: 3, complete: true, lost: 0 },
      channels: [{ channelId: 'room', replayed: 3, complete: true, lost: 0 }],
    });
  });

  it('13.1 R11.2 Redis emptied under a running server (FLUSHDB): a new epoch, and the clients report NEW_EPOCH', async () => {
    const rig = await startRig();
    const { alice, bob, bobRoom } = await pair(rig);
    const epoch = await admin.get(`${rig.keyPrefix}epoch`);
    const reports = recordRecoveries(bob);
    const states = recordStates(bob);
    rig.proxy.refuse();
    rig.proxy.cut();
    await waitFor(() => bob.connectionState === 'RECONNECTING', 'bob RECONNECTING');
    await admin.flushDb();
    rig.proxy.restore();
    await waitFor(() => reports.length === 1, "bob's recovery report");
    expect(reports[0]).toMatchObject({
      session: 'NEW_EPOCH',
      peer: { complete: false, lost: null, reason: 'NEW_EPOCH' },
      channels: [{ channelId: 'room', complete: false, lost: null, reason: 'NEW_EPOCH' }],
    });
    const newEpoch = await admin.get(`${rig.keyPrefix}epoch`);
    expect(newEpoch).toMatch(/^.{8,}$/);
    expect(newEpoch).not.toBe(epoch);
    expect(states.at(-1)).toBe('CONNECTED/LOGIN_SUCCESS');
    // And the new history works: bob is back in the room and gets what follows.
    await waitFor(() => bobRoom.joined, 'bob rejoined');
    await elapse(100);
    const peer = recordPeerMessages(bob);
    expect(await alice.sendMessageToPeer({ text: 'fresh' }, 'bob')).toEqual({ hasPeerReceived: true });
    await waitFor(() => peer.length === 1, 'the first message of the new epoch');
  });
});

describe('13.1 serve --redis', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });
  const serve = (args: string[], env: Record<string, string> = {}) => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--no-inspector', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RTM_SECRET: '', RTM_REDIS_URL: '', ...env },
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    return { exited, output: () => ({ out, err }) };
  };

  it('13.1 --redis without a secret is refused: state in Redis outlives a random secret', async () => {
    const run = serve(['--redis', redisUrl]);
    expect(await run.exited).toBe(1);
    expect(run.output().err).toContain('--redis needs --secret');
  });

  it('13.1 RTM_REDIS_URL with --secret: the server keeps its users in Redis under rtm:', async () => {
    const run = serve(['--secret', 'serve-redis'], { RTM_REDIS_URL: redisUrl });
    await waitFor(() => /RTM server listening on ws:\/\/127\.0\.0\.1:\d+ \(store: Redis at /.test(run.output().out), 'the URL', 20_000);
    const url = /RTM server listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(run.output().out)![1]!;
    const client = new RtmClient({ url, timing: fastTiming });
    try {
      const { createToken } = await import('../../src/server/index.js');
      await client.login({ uid: 'serve-user', token: createToken('serve-redis', 'serve-user') });
      expect(await admin.exists('rtm:{u:serve-user}:session')).toBe(1);
      expect(await admin.exists('rtm:epoch')).toBe(1);
    } finally {
      await client.logout();
      client.actor.stop();
    }
    child!.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('13.1 --node-id and --redis-prefix name the node and its keys; /healthz says which node answers', async () => {
    const run = serve(['--secret', 'serve-redis', '--redis', redisUrl, '--redis-prefix', 'cli-test:', '--node-id', 'east-1']);
    await waitFor(() => /RTM server listening on ws:\/\/127\.0\.0\.1:\d+ \(store: Redis at /.test(run.output().out), 'the URL', 20_000);
    const url = /RTM server listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(run.output().out)![1]!;
    const health = (await (await fetch(`${url.replace('ws:', 'http:')}/healthz`)).json()) as { node?: string; fenced?: boolean };
    expect(health).toMatchObject({ node: 'east-1', fenced: false });
    expect(await admin.exists('cli-test:{n:east-1}:lease')).toBe(1);
    child!.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('13.1 --node-id without --redis is refused, and so is a node id that is not a name', async () => {
    const alone = serve(['--secret', 's', '--node-id', 'east-1']);
    expect(await alone.exited).toBe(1);
    expect(alone.output().err).toContain('--redis-prefix and --node-id are for a node on Redis');
    const bad = serve(['--secret', 's', '--redis', redisUrl, '--node-id', 'east 1']);
    expect(await bad.exited).toBe(1);
    expect(bad.output().err).toContain('redis.nodeId must be');
  });
});
