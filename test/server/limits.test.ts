/** R8: malformed, unknown, oversized and hostile input closes only the offending socket. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode, MAX_FRAME_BYTES } from '../../src/protocol/index.js';
import { Harness, RawClient, until } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

async function bystanders(server: Awaited<ReturnType<Harness['server']>>) {
  const alice = await h.login(server, 'alice');
  const bob = await h.login(server, 'bob');
  return {
    async stillTalking(tag: string) {
      expect(await alice.client.ok({ t: 'peer.send', msgId: tag, to: 'bob', text: tag, offline: false })).toEqual({ hasPeerReceived: true });
      await bob.client.next((f) => f.t === 'peer.msg' && f.msgId === tag);
    },
  };
}

describe('R8 protocol errors close only that socket', () => {
  const cases: Array<[string, string | Buffer, boolean?]> = [
    ['not JSON', '{"t":"login",'],
    ['JSON but not an object', '[1,2,3]'],
    ['an unknown frame type', '{"t":"steal","id":1}'],
    ['a request without an id', '{"t":"channel.join","channel":"room"}'],
    ['a wrong protocol version', '{"t":"login","id":1,"v":2,"uid":"alice","token":"x"}'],
    ['a wrongly typed seq', '{"t":"peer.ack","seq":"7"}'],
    ['an empty line between frames', '{"t":"ping"}\n\n{"t":"ping"}'],
    ['a binary frame', Buffer.from([1, 2, 3]), true],
  ];
  for (const [what, payload, binary] of cases) {
    it(`R8 ${what} gets error PROTOCOL_ERROR and close 4000; other sessions go on`, async () => {
      const server = await h.server();
      const others = await bystanders(server);
      const bad = await h.connect(server);
      bad.sendRaw(payload, binary ?? false);
      const closed = await bad.closed;
      expect(closed.code).toBe(CloseCode.PROTOCOL_ERROR);
      expect(bad.all((f) => f.t === 'error')).toEqual([expect.objectContaining({ t: 'error', code: 'PROTOCOL_ERROR' })]);
      await others.stillTalking('after');
    });
  }

  it('R8 peer.ack before login is a protocol error', async () => {
    const server = await h.server();
    const bad = await h.connect(server);
    bad.send({ t: 'peer.ack', seq: 1 });
    expect((await bad.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('R8 a frame over MAX_FRAME_BYTES is closed with 1009, and so is a message over maxPayload', async () => {
    const server = await h.server();
    const others = await bystanders(server);
    const big = await h.connect(server);
    big.send({ t: 'peer.send', id: 1, msgId: 'x', to: 'bob', text: 'x'.repeat(MAX_FRAME_BYTES), offline: false });
    expect((await big.closed).code).toBe(CloseCode.TOO_LARGE);
    const huge = await h.connect(server);
    huge.sendRaw('x'.repeat(5 * MAX_FRAME_BYTES));
    expect((await huge.closed).code).toBe(CloseCode.TOO_LARGE);
    await others.stillTalking('after-big');
  });

  it('R8 a text that is not a string is INVALID_MESSAGE and the socket stays open', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    expect(await alice.client.request({ t: 'peer.send', msgId: 'm', to: 'bob', text: 42, offline: false })).toMatchObject({
      ok: false,
      code: 'INVALID_MESSAGE',
    });
    expect(await alice.client.request({ t: 'channel.join', channel: 'has space' })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(await alice.client.request({ t: 'presence.query', uids: ['ok', 7] })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    await alice.client.ok({ t: 'presence.query', uids: ['alice'] });
  });

  it('several frames coalesced in one WebSocket message are handled in order', async () => {
    const server = await h.server();
    const alice = await h.login(server, 'alice');
    await h.login(server, 'bob');
    alice.client.sendRaw(
      [
        { t: 'channel.join', id: 101, channel: 'room' },
        { t: 'channel.send', id: 102, msgId: 'c', channel: 'room', text: 'x' },
        { t: 'channel.leave', id: 103, channel: 'room' },
      ]
        .map((f) => JSON.stringify(f))
        .join('\n'),
    );
    const answers = await alice.client.collect((f) => f.t === 'res' && f.id > 100, 3);
    expect(answers.map((f) => [f.id, f.ok])).toEqual([
      [101, true],
      [102, true],
      [103, true],
    ]);
  });

  it('a socket offering another subprotocol is refused at the handshake', async () => {
    const server = await h.server();
    await expect(RawClient.connect(server.url, { protocols: ['chat.v9'] })).rejects.toThrow();
    const others = await bystanders(server);
    await others.stillTalking('after-handshake');
  });

  it('a client that stops reading is closed (4005 slow consumer) instead of buffering without bound', async () => {
    const closeCodes: unknown[] = [];
    const server = await h.server({
      limits: { rateLimitPerSecond: 0 },
      logger: { log: (_level, event, fields) => void (event === 'socket.closed' && closeCodes.push(fields?.code)) },
    });
    const sender = await h.login(server, 'alice');
    const stalled = await h.login(server, 'bob');
    const watcher = await h.login(server, 'carol');
    for (const user of [sender, stalled, watcher]) await user.client.ok({ t: 'channel.join', channel: 'flood' });
    // Stop reading at the TCP level: the server's writes pile up in its send buffer.
    (stalled.client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'x'.repeat(32 * 1024);
    let sent = 0;
    await until(
      async () => {
        const batch = Array.from({ length: 50 }, () => sender.client.request({ t: 'channel.send', msgId: `f${sent++}`, channel: 'flood', text }));
        await Promise.all(batch);
        return server.stats().connections === 2;
      },
      20_000,
      'the stalled socket was dropped',
    );
    expect(closeCodes).toEqual([CloseCode.SLOW_CONSUMER]);
    expect(watcher.client.all((f) => f.t === 'channel.msg').length).toBeGreaterThan(500);
    expect(sender.client.isClosed || watcher.client.isClosed).toBe(false);
  });

  it('sockets beyond maxConnections are refused with 503', async () => {
    const server = await h.server({ limits: { maxConnections: 2 } });
    await h.connect(server);
    await h.connect(server);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(server.url, ['rtm.v1']);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(503);
  });
});

describe('listen backlog', () => {
  it('R8 listenBacklog that is not a positive integer is refused with a RangeError', async () => {
    const { createRtmServer } = await import('../../src/server/index.js');
    for (const listenBacklog of [0, -1, 1.5, Number.NaN]) {
      await expect(createRtmServer({ port: 0, inspector: false, listenBacklog })).rejects.toThrow(RangeError);
    }
  });
});
