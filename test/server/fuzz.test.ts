/**
 * R8 under random input: fast-check throws random, truncated, wrongly typed and oversized
 * frames at the server; every one is answered or closes only its own socket, and an unrelated
 * pair of users keeps exchanging messages throughout.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../src/protocol/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { Harness, type RawClient } from './helpers.js';

const h = new Harness();
let server: RtmServer;
let alice: RawClient;
let bob: RawClient;
let exchanged = 0;

beforeAll(async () => {
  server = await h.server({ limits: { rateLimitPerSecond: 0 } });
  alice = (await h.login(server, 'alice')).client;
  bob = (await h.login(server, 'bob')).client;
});
afterAll(() => h.cleanup());

const types = [
  'login', 'resume', 'logout', 'ping', 'peer.send', 'peer.ack', 'channel.join', 'channel.leave',
  'channel.send', 'channel.members', 'presence.query', 'attrs.set', 'attrs.get', 'res', 'kick', '__proto__', 'constructor',
];
const fieldNames = ['id', 'v', 'uid', 'token', 'sessionId', 'peerSeq', 'channels', 'msgId', 'to', 'text', 'offline', 'seq', 'channel', 'lastSeq', 'uids', 'attrs', '__proto__'];

/** Plausible frames: a known (or hostile) type with fields of any type. */
const looseFrame = fc
  .record({
    t: fc.constantFrom(...types),
    id: fc.oneof(fc.nat(1000), fc.double(), fc.string(), fc.constant(-1)),
    fields: fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(fc.anything(), fc.string({ maxLength: 70 }), fc.nat())),
  })
  .map(({ t, id, fields }) => JSON.stringify({ ...fields, t, id }));

/** Well-formed frames, some valid for a logged-in user. */
const validish = fc.oneof(
  fc.record({ t: fc.constant('channel.join'), id: fc.nat(1000), channel: fc.string({ minLength: 1, maxLength: 80 }) }),
  fc.record({ t: fc.constant('channel.send'), id: fc.nat(1000), msgId: fc.string({ minLength: 1, maxLength: 64 }), channel: fc.constant('fuzz'), text: fc.string() }),
  fc.record({ t: fc.constant('peer.send'), id: fc.nat(1000), msgId: fc.string({ minLength: 1, maxLength: 64 }), to: fc.constantFrom('alice', 'bob', 'fuzz', 'x y'), text: fc.string(), offline: fc.boolean() }),
  fc.record({ t: fc.constant('attrs.set'), id: fc.nat(1000), attrs: fc.array(fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 })), { maxLength: 40 }) }),
  fc.record({ t: fc.constant('presence.query'), id: fc.nat(1000), uids: fc.array(fc.string({ maxLength: 70 }), { maxLength: 5 }) }),
  fc.record({ t: fc.constant('peer.ack'), seq: fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 })) }),
  fc.record({ t: fc.constant('resume'), id: fc.nat(1000), v: fc.constant(1), uid: fc.constantFrom('alice', 'fuzz'), sessionId: fc.string({ minLength: 1, maxLength: 40 }), token: fc.string({ minLength: 1, maxLength: 60 }), peerSeq: fc.nat(), channels: fc.constant([]) }),
).map((frame) => JSON.stringify(frame));

const input = fc.oneof(
  { weight: 3, arbitrary: looseFrame },
  { weight: 3, arbitrary: validish },
  { weight: 2, arbitrary: validish.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('null', '1', '"x"', '{}', '[]', '{"t":null}', '\n', '{"t":"ping"}\n{"t":"ping"}') },
  { weight: 1, arbitrary: fc.nat(3).map((k) => `{"t":"channel.send","id":1,"msgId":"big","channel":"fuzz","text":"${'z'.repeat(MAX_FRAME_BYTES + k * 1000)}"}`) },
);

describe('R8 fuzzing the protocol', () => {
  it('R8 random, truncated, wrongly typed and oversized frames never disturb another session', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(input, { minLength: 1, maxLength: 4 }), async (loggedIn, frames) => {
        round++;
        const fuzz = loggedIn ? (await h.login(server, 'fuzz')).client : await h.connect(server);
        for (const frame of frames) fuzz.sendRaw(frame);
        // A sentinel request: answered if the socket survived, else the socket is closed.
        const sentinel = 1_000_000 + round;
        fuzz.send({ t: 'presence.query', id: sentinel, uids: ['alice'] });
        await Promise.race([fuzz.next((f) => f.t === 'res' && f.id === sentinel, 10_000), fuzz.closed]);
        for (const f of fuzz.frames) expect(typeof f.t).toBe('string');
        fuzz.terminate();

        const tag = `r${round}`;
        expect(await alice.ok({ t: 'peer.send', msgId: tag, to: 'bob', text: tag, offline: false })).toEqual({ hasPeerReceived: true });
        await bob.next((f) => f.t === 'peer.msg' && f.msgId === tag);
        exchanged++;
      }),
      { numRuns: 200 },
    );
    expect(exchanged).toBe(200);
    expect(alice.isClosed || bob.isClosed).toBe(false);
    const health = await fetch(`${server.url.replace('ws:', 'http:')}/healthz`);
    expect(health.status).toBe(200);
  });
});
