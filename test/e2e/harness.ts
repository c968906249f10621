/**
 * The end-to-end rig: a real RTM server, a fault proxy in front of it and real clients, with
 * helpers that record what each client reports and wait for conditions with a deadline.
 */
import { afterEach } from 'vitest';
import { createRtmServer, type RtmServer, type RtmServerOptions } from '../../src/server/index.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';
import { RtmClient, type MessageProps, type RtmChannel, type Timing } from '../../src/index.js';

/** Every rule scaled down ×0.1, with a shorter presence window so the 30 s rule takes 1.5 s. */
export const fastTiming: Timing = {
  loginTimeoutMs: 600,
  interruptionGraceMs: 400,
  presenceTimeoutMs: 1500,
  channelReplayWindowMs: 3000,
  channelReplayMax: 32,
  requestTimeoutMs: 1000,
};

export interface System {
  server: RtmServer;
  proxy: FaultProxy;
  timing: Timing;
  /** A client that dials through the proxy (breakable). */
  client(): RtmClient;
  /** A client that dials the server directly (never broken by the proxy). */
  directClient(): RtmClient;
  token(uid: string, expiresInSeconds?: number): string;
  close(): Promise<void>;
}

export async function startSystem(
  timing: Partial<Timing> = fastTiming,
  serverOptions: Omit<RtmServerOptions, 'port'> = {},
): Promise<System> {
  // The server gets the same timing unless a test deliberately gives it another. The heartbeat
  // timeout is lengthened from the server's own choice at this scale (grace / 2 = 200 ms) to
  // 600 ms, so that a stall of a loaded test machine is not taken for a lost link; no rule under
  // test depends on it, and the black-hole tests allow for it.
  const server = await createRtmServer({
    port: 0,
    inspector: false,
    timing,
    heartbeat: { intervalMs: 100, timeoutMs: 600 },
    ...serverOptions,
  });
  const proxy = await createFaultProxy({ target: server.url });
  const clients: RtmClient[] = [];
  const make = (url: string) => {
    const client = new RtmClient({ url, timing });
    clients.push(client);
    return client;
  };
  return {
    server,
    proxy,
    timing: { ...fastTiming, ...timing },
    client: () => make(proxy.url),
    directClient: () => make(server.url),
    token: (uid, expiresInSeconds) =>
      server.createToken(uid, expiresInSeconds === undefined ? {} : { expiresInSeconds }),
    async close() {
      for (const client of clients) {
        await client.logout().catch(() => undefined);
        client.actor.stop();
      }
      await proxy.close();
      await server.close();
    },
  };
}

/** Every (state, reason) a client announces, as 'STATE/REASON'. */
export function recordStates(client: RtmClient): string[] {
  const seen: string[] = [];
  client.on('ConnectionStateChanged', (state, reason) => seen.push(`${state}/${reason}`));
  return seen;
}

export interface Received {
  text: string;
  from: string;
  props: MessageProps;
}

export function recordPeerMessages(client: RtmClient): Received[] {
  const seen: Received[] = [];
  client.on('MessageFromPeer', (message, from, props) => seen.push({ text: message.text, from, props }));
  return seen;
}

export function recordChannelMessages(channel: RtmChannel): Received[] {
  const seen: Received[] = [];
  channel.on('ChannelMessage', (message, from, props) => seen.push({ text: message.text, from, props }));
  return seen;
}

export function recordMembers(channel: RtmChannel): string[] {
  const seen: string[] = [];
  channel.on('MemberJoined', (uid) => seen.push(`+${uid}`));
  channel.on('MemberLeft', (uid) => seen.push(`-${uid}`));
  return seen;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * How often `eventually` retries: its assertions are server queries, which are rate limited
 * (`queryRateLimitPerSecond`, 50), and ten a second stays well under that.
 */
const RETRY_INTERVAL_MS = 100;

/** Retries an async assertion (a server query) until it passes; rethrows its last failure after `timeoutMs`. */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
    }
  }
}

/** Resolves after `ms` (only for "nothing must happen during this time" checks and waiting out a rule's delay). */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Logs a client in and waits for CONNECTED. */
export async function loggedIn(system: System, uid: string, direct = false): Promise<RtmClient> {
  const client = direct ? system.directClient() : system.client();
  await client.login({ uid, token: system.token(uid) });
  return client;
}

/**
 * Cuts the client's link through the proxy and keeps refusing new connections; with
 * 'RECONNECTING' (the default) also waits until the grace period has run out.
 */
export async function takeDown(
  system: System,
  client: { connectionState: string },
  until: 'linkLost' | 'RECONNECTING' = 'RECONNECTING',
): Promise<void> {
  system.proxy.refuse();
  system.proxy.cut();
  if (until === 'RECONNECTING') await waitFor(() => client.connectionState === 'RECONNECTING', 'RECONNECTING');
}

/** alice (straight to the server, never cut) and bob (through the proxy), both joined to channel 'room'. */
export async function pairInRoom(system: System) {
  const alice = await loggedIn(system, 'alice', true);
  const bob = await loggedIn(system, 'bob');
  const aliceRoom = alice.createChannel('room');
  const bobRoom = bob.createChannel('room');
  await aliceRoom.join();
  await bobRoom.join();
  return { alice, bob, aliceRoom, bobRoom };
}

/** The client's full machine state, e.g. 'CONNECTED.linkLost'. */
export function machineState(client: RtmClient): string {
  const value = client.actor.getSnapshot().value;
  if (typeof value === 'string') return value;
  const [top, sub] = Object.entries(value)[0]!;
  return `${top}.${String(sub)}`;
}

/** Registers an afterEach that closes every system started through the returned function. */
export function useSystems(): typeof startSystem {
  const running: System[] = [];
  afterEach(async () => {
    for (const system of running.splice(0)) await system.close();
  });
  return async (...args) => {
    const system = await startSystem(...args);
    running.push(system);
    return system;
  };
}
