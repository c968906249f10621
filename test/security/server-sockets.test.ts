/**
 * Issue 12 (sockets) and 11.8 (liveness on the monotonic clock): a login deadline, handshakes
 * counted and timed out, a foreign-only subprotocol refused, unsent bytes bounded per socket
 * (4005, which the slow client does see) and over all sockets, and a wall-clock step that
 * closes no healthy socket. Bystanders keep talking throughout.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode, SUBPROTOCOL } from '../../src/protocol/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { Harness, RawClient, until } from '../server/helpers.js';
import { startBystanders } from './server-bystanders.js';

const h = new Harness();
const rawSockets: Socket[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await h.cleanup();
});

function pause(client: RawClient): { resume(): void } {
  const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  return { resume: () => socket.resume() };
}

/** The HTTP status a WebSocket handshake offering `protocols` gets (101 when it opens). */
function handshakeStatus(server: RtmServer, protocols: string[]): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(server.url, protocols);
    ws.on('upgrade', () => resolve(101));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => undefined);
    ws.on('open', () => ws.close());
  });
}

/** A TCP connection that sends half a handshake and then nothing. */
async function halfOpen(server: RtmServer): Promise<{ closed: Promise<void> }> {
  const socket = connect(server.port, '127.0.0.1');
  rawSockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
  return { closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

/** Sends 32 KiB channel messages until `until_` holds; resolves with how many were sent. */
async function flood(sender: RawClient, until_: () => boolean, what: string): Promise<number> {
  const text = 'x'.repeat(32 * 1024);
  let sent = 0;
  await until(
    async () => {
      await Promise.all(Array.from({ length: 40 }, () => sender.request({ t: 'channel.send', msgId: `f${sent++}`, channel: 'flood', text })));
      return until_();
    },
    20_000,
    what,
  );
  return sent;
}

describe('12 sockets that never log in', () => {
  it('12 a socket not logged in by loginDeadlineMs is closed with 4006, though it pings', async () => {
    const server = await h.server({ limits: { loginDeadlineMs: 400 } });
    const others = await startBystanders(h, server);
    const idle = await Promise.all(Array.from({ length: 20 }, () => h.connect(server, { pingEveryMs: 50 })));
    const closed = await Promise.all(idle.map((client) => client.closed));
    expect(closed.every((c) => c.code === CloseCode.LOGIN_DEADLINE)).toBe(true);
    // A socket that logged in is past the deadline and stays.
    const carol = await h.login(server, 'carol', { pingEveryMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(carol.client.isClosed).toBe(false);
    await others.verify();
  });
});

describe('12 handshakes', () => {
  it('12 half-open handshakes count against maxConnections and are dropped after handshakeTimeoutMs', async () => {
    const server = await h.server({ limits: { maxConnections: 4, handshakeTimeoutMs: 400 } });
    const others = await startBystanders(h, server);
    const started = Date.now();
    const stuck = [await halfOpen(server), await halfOpen(server)];
    // 2 bystanders + 2 half-open handshakes: the server is full.
    expect(await handshakeStatus(server, [SUBPROTOCOL])).toBe(503);
    await Promise.all(stuck.map((s) => s.closed));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await handshakeStatus(server, [SUBPROTOCOL])).toBe(101);
    await others.verify();
  });

  it('12 a handshake offering only a foreign subprotocol is refused with 400; none, or ours among others, is accepted', async () => {
    const server = await h.server();
    const others = await startBystanders(h, server);
    expect(await handshakeStatus(server, ['chat.v9'])).toBe(400);
    expect(await handshakeStatus(server, ['chat.v9', 'mqtt'])).toBe(400);
    expect(await handshakeStatus(server, [])).toBe(101);
    expect(await handshakeStatus(server, ['chat.v9', SUBPROTOCOL])).toBe(101);
    await others.verify();
  });
});

describe('12 unsent bytes are bounded', () => {
  it('12 a slow consumer sees close 4005 when it reads again (not 1006)', async () => {
    const server = await h.server({ limits: { rateLimitPerSecond: 0, maxBufferedBytesPerSocket: 1024 * 1024 } });
    const others = await startBystanders(h, server);
    const sender = await h.login(server, 'sender');
    const slow = await h.login(server, 'slow', { pingEveryMs: 0 });
    for (const user of [sender, slow]) await user.client.ok({ t: 'channel.join', channel: 'flood' });
    const reading = pause(slow.client);
    const before = server.stats().connections;
    await flood(sender.client, () => server.stats().connections < before, 'the slow socket was closed');
    // The client was away from its socket for longer than the server's 1 s terminate delay.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    reading.resume();
    expect((await slow.client.closed).code).toBe(CloseCode.SLOW_CONSUMER);
    await others.verify();
  });

  it('12 all sockets together hold at most maxBufferedBytes: the ones holding most are closed (4005)', async () => {
    const server = await h.server({
      limits: { rateLimitPerSecond: 0, maxBufferedBytesPerSocket: 256 * 1024 * 1024, maxBufferedBytes: 4 * 1024 * 1024 },
    });
    const others = await startBystanders(h, server);
    const sender = await h.login(server, 'sender');
    await sender.client.ok({ t: 'channel.join', channel: 'flood' });
    const slow: RawClient[] = [];
    const paused: Array<{ resume(): void }> = [];
    for (let i = 0; i < 3; i++) {
      const user = await h.login(server, `slow${i}`, { pingEveryMs: 0 });
      await user.client.ok({ t: 'channel.join', channel: 'flood' });
      paused.push(pause(user.client));
      slow.push(user.client);
    }
    const before = server.stats().connections;
    // Each socket alone is far under its own bound (256 MiB): only the total can close one.
    const sent = await flood(sender.client, () => server.stats().connections < before, 'a slow socket was closed');
    // …long before any of them could reach even the default per-socket bound (16 MiB).
    expect(sent * 32 * 1024).toBeLessThan(16 * 1024 * 1024);
    for (const p of paused) p.resume();
    await until(() => slow.some((client) => client.isClosed), 10_000, 'a slow client saw its close');
    // Dropped at once to free the memory: the close frame (4005) gets through only if little was queued before it.
    for (const client of slow.filter((c) => c.isClosed)) expect([CloseCode.SLOW_CONSUMER, 1006]).toContain((await client.closed).code);
    expect(sender.client.isClosed).toBe(false);
    await others.verify();
  });
});

describe('11.8 liveness reads the monotonic clock', () => {
  it('11.8 a +10 s wall-clock step closes none of 20 healthy sockets', async () => {
    const server = await h.server({ heartbeat: { intervalMs: 100, timeoutMs: 2000 } });
    const others = await startBystanders(h, server);
    const healthy = [];
    for (let i = 0; i < 20; i++) healthy.push((await h.login(server, `healthy${i}`, { pingEveryMs: 400 })).client);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(healthy.filter((client) => client.isClosed)).toHaveLength(0);
    vi.restoreAllMocks();
    await others.verify();
  });
});
