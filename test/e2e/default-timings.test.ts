/**
 * The three timing rules at their real default values (SPEC §2: 6 s, 4 s, 30 s), with no
 * timing passed to client or server. The three run concurrently, each on its own server and
 * proxy, so the file takes about 30 s. Tolerances leave room for a loaded machine.
 */
import { describe, expect, it } from 'vitest';
import { defaultTiming, RtmClient, RtmError, RtmErrorCode } from '../../src/index.js';
import { createRtmServer } from '../../src/server/index.js';
import { createFaultProxy } from '../../src/testing/index.js';
import { recordMembers, recordStates, waitFor } from './harness.js';

async function defaultSystem() {
  const server = await createRtmServer({ port: 0, inspector: false });
  const proxy = await createFaultProxy({ target: server.url });
  const clients: RtmClient[] = [];
  return {
    server,
    proxy,
    client(url = proxy.url) {
      const client = new RtmClient({ url });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) {
        await client.logout();
        client.actor.stop();
      }
      await proxy.close();
      await server.close();
    },
  };
}

describe('default timings', () => {
  it.concurrent('R2.3 login times out after 6 s: DISCONNECTED / LOGIN_TIMEOUT, TIMEOUT', { timeout: 20_000 }, async () => {
    const system = await defaultSystem();
    try {
      system.proxy.silent();
      const client = system.client();
      const states = recordStates(client);
      const started = Date.now();
      const error = await client.login({ uid: 'alice', token: system.server.createToken('alice') }).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(RtmError);
      expect((error as RtmError).code).toBe(RtmErrorCode.TIMEOUT);
      expect(states).toEqual(['CONNECTING/LOGIN', 'DISCONNECTED/LOGIN_TIMEOUT']);
      expect(elapsed).toBeGreaterThanOrEqual(defaultTiming.loginTimeoutMs);
      expect(elapsed).toBeLessThan(7500);
    } finally {
      await system.close();
    }
  });

  it.concurrent('R3.2 RECONNECTING / INTERRUPTED 4 s after a cut', { timeout: 20_000 }, async () => {
    const system = await defaultSystem();
    try {
      const client = system.client();
      await client.login({ uid: 'alice', token: system.server.createToken('alice') });
      const states = recordStates(client);
      system.proxy.refuse();
      const cutAt = Date.now();
      system.proxy.cut();
      await waitFor(() => client.connectionState === 'RECONNECTING', 'RECONNECTING', 10_000);
      const elapsed = Date.now() - cutAt;
      expect(states).toEqual(['RECONNECTING/INTERRUPTED']);
      expect(elapsed).toBeGreaterThanOrEqual(defaultTiming.interruptionGraceMs);
      expect(elapsed).toBeLessThan(5500);
    } finally {
      await system.close();
    }
  });

  it.concurrent('R4.3 the other members get MemberLeft 30 s after a cut', { timeout: 45_000 }, async () => {
    const system = await defaultSystem();
    try {
      const alice = system.client(system.server.url);
      const bob = system.client();
      await alice.login({ uid: 'alice', token: system.server.createToken('alice') });
      await bob.login({ uid: 'bob', token: system.server.createToken('bob') });
      const room = alice.createChannel('room');
      await room.join();
      const members = recordMembers(room);
      await bob.createChannel('room').join();
      await waitFor(() => members.length === 1, 'MemberJoined bob');
      system.proxy.refuse();
      const cutAt = Date.now();
      system.proxy.cut();
      await waitFor(() => members.length === 2, 'MemberLeft bob', 40_000);
      const elapsed = Date.now() - cutAt;
      expect(members).toEqual(['+bob', '-bob']);
      expect(elapsed).toBeGreaterThanOrEqual(defaultTiming.presenceTimeoutMs);
      expect(elapsed).toBeLessThan(31_500);
      expect(bob.connectionState).toBe('RECONNECTING');
    } finally {
      await system.close();
    }
  });
});
