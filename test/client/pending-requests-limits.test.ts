/**
 * Issue 11, items 2 and 4, on the outgoing path alone: frame size, in-flight cap, pacing of the
 * flush after an outage, 1009 handling, and the socket's split of a tick's frames into messages.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RtmErrorCode, type RtmError } from '../../src/errors.js';
import { PendingRequests, type RequestFrame } from '../../src/client/pending-requests.js';
import { FrameSocket, type WebSocketLike } from '../../src/client/socket.js';
import {
  CloseCode,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_FRAMES_PER_MESSAGE,
  MAX_FRAME_BYTES,
  MAX_IN_FLIGHT_REQUESTS,
  splitFrames,
} from '../../src/protocol/index.js';

let wire: RequestFrame[];
let up: boolean;
let pending: PendingRequests;

beforeEach(() => {
  vi.useFakeTimers();
  wire = [];
  up = false;
  pending = new PendingRequests((encoded) => {
    if (!up) return false;
    wire.push(JSON.parse(encoded.text) as RequestFrame);
    return true;
  }, 10_000);
});
afterEach(() => {
  vi.useRealTimers();
});

let messageCount = 0;
const send = (text: string) =>
  pending.request({ t: 'peer.send', msgId: `id-${messageCount++}`, to: 'bob', text, offline: false });
const query = () => pending.request({ t: 'presence.query', uids: ['bob'] });
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: RtmError) => e.code);
const answer = (frame: RequestFrame) => pending.settle({ t: 'res', id: frame.id, ok: true, data: {} });
const texts = () => wire.map((f) => (f.t === 'peer.send' ? f.text : f.t));
const connect = () => {
  up = true;
  pending.linkUp();
};
const lose = (code: number = CloseCode.NORMAL) => {
  up = false;
  pending.linkDown(code);
};

describe('11.4 R8 nothing leaves that the server cannot take', () => {
  it('R8 11.4 a request whose encoded frame exceeds MAX_FRAME_BYTES rejects at once, before anything is sent', async () => {
    connect();
    // 12 KiB of control characters: each escapes to six bytes in JSON.
    const controls = '\u0001'.repeat(12 * 1024);
    expect(await codeOf(send(controls))).toBe(RtmErrorCode.INVALID_MESSAGE);
    const attrs = Array.from({ length: 32 }, (_, i): [string, string] => [`k${i}`, 'v'.repeat(8 * 1024)]);
    expect(await codeOf(pending.request({ t: 'attrs.set', attrs }))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(wire).toEqual([]);
    expect(pending.size).toBe(0);
    // Just under the limit goes out.
    void send('x'.repeat(MAX_FRAME_BYTES - 200));
    expect(wire).toHaveLength(1);
  });

  it(`R8 11.4 at most ${MAX_IN_FLIGHT_REQUESTS} requests are on a socket unanswered; the rest leave in call order as answers come`, async () => {
    connect();
    const all = Array.from({ length: 4200 }, () => query());
    expect(wire).toHaveLength(MAX_IN_FLIGHT_REQUESTS);
    answer(wire[0]!);
    answer(wire[1]!);
    expect(wire).toHaveLength(MAX_IN_FLIGHT_REQUESTS + 2);
    for (let i = 2; i < wire.length; i++) answer(wire[i]!);
    expect(wire).toHaveLength(4200);
    expect(wire.map((f) => f.id)).toEqual([...wire.map((f) => f.id)].sort((a, b) => a - b));
    await Promise.all(all);
    expect(pending.size).toBe(0);
  });

  it('R8 11.4 after a close with 1009 the requests on the socket go one at a time; one meeting 1009 alone fails, the others succeed', async () => {
    connect();
    const a = codeOf(send('a'));
    const big = codeOf(send('big'));
    const c = codeOf(send('c'));
    expect(texts()).toEqual(['a', 'big', 'c']);
    lose(CloseCode.TOO_LARGE);
    connect();
    expect(texts().slice(3)).toEqual(['a']); // one at a time
    answer(wire[3]!);
    expect(texts().slice(4)).toEqual(['big']);
    lose(CloseCode.TOO_LARGE);
    expect(await big).toBe(RtmErrorCode.INVALID_MESSAGE);
    connect();
    expect(texts().slice(5)).toEqual(['c']);
    answer(wire[5]!);
    expect(await a).toBe('resolved');
    expect(await c).toBe('resolved');
    // Back to normal: several in flight at once.
    void send('d');
    void send('e');
    expect(texts().slice(6)).toEqual(['d', 'e']);
  });

  it('R8 11.4 a socket splits one tick of frames into messages within MAX_CLIENT_MESSAGE_BYTES and MAX_FRAMES_PER_MESSAGE', async () => {
    const messages: string[] = [];
    const ws: WebSocketLike = {
      readyState: 1,
      send: (data) => void messages.push(data),
      close: () => undefined,
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    const socket = new FrameSocket(ws, { onOpen: () => undefined, onFrame: () => undefined, onClose: () => undefined });
    // Ten 30 KB sends in one tick (one 300 KB message before), then a tick of many small ones.
    for (let i = 0; i < 10; i++) socket.send({ t: 'peer.send', id: i + 1, msgId: `m${i}`, to: 'bob', text: 'x'.repeat(30_000), offline: false });
    await Promise.resolve();
    expect(messages.length).toBeGreaterThanOrEqual(5);
    expect(messages.flatMap((m) => splitFrames(m))).toHaveLength(10);
    for (const m of messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MAX_CLIENT_MESSAGE_BYTES);
    messages.length = 0;
    for (let i = 0; i < 1000; i++) socket.send({ t: 'presence.query', id: i + 1, uids: ['bob'] });
    await Promise.resolve();
    expect(messages).toHaveLength(Math.ceil(1000 / MAX_FRAMES_PER_MESSAGE));
    expect(messages.flatMap((m) => splitFrames(m)).map((f) => (JSON.parse(f) as { id: number }).id)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    // The usual case stays one message a tick.
    messages.length = 0;
    socket.send({ t: 'ping' });
    socket.send({ t: 'peer.ack', seq: 3 });
    await Promise.resolve();
    expect(messages).toHaveLength(1);
  });
});

describe('11.2 R5.5 the flush after an outage keeps to the announced send rate', () => {
  it('R5.5 11.2 queued sends leave at most 75% of the rate at once, then 90% of it a second; non-sends behind them keep their turn', async () => {
    pending.paceSends(60);
    const sends = Array.from({ length: 100 }, (_, i) => send(`m${i}`));
    const q = query();
    connect();
    expect(wire).toHaveLength(45); // the burst
    vi.advanceTimersByTime(1000);
    // 54 a second afterwards (one may be on the next timer tick).
    expect(wire.length).toBeGreaterThanOrEqual(45 + 53);
    expect(wire.length).toBeLessThanOrEqual(45 + 54);
    vi.advanceTimersByTime(100);
    expect(texts()).toEqual([...Array.from({ length: 100 }, (_, i) => `m${i}`), 'presence.query']);
    for (const frame of wire) answer(frame);
    await Promise.all([...sends, q]);
  });

  it('R8 11.2 live sends on an idle outbox go straight out, past the budget: the server decides TOO_OFTEN', () => {
    pending.paceSends(10);
    connect();
    for (let i = 0; i < 30; i++) void send(`m${i}`).catch(() => undefined);
    expect(wire).toHaveLength(30);
  });

  it('R5.5 11.2 the pacer counts live sends: a flush right after a burst waits for the budget to refill', () => {
    pending.paceSends(10);
    connect();
    for (let i = 0; i < 7; i++) void send(`live${i}`);
    for (const frame of wire) answer(frame);
    lose();
    for (let i = 0; i < 3; i++) void send(`q${i}`);
    connect();
    expect(wire).toHaveLength(7); // the budget is spent
    vi.advanceTimersByTime(120);
    expect(wire).toHaveLength(8);
  });

  it('R5.5 11.2 a send lost with its socket is re-sent at once: the copy, not the lost one, pays', () => {
    pending.paceSends(10);
    connect();
    for (let i = 0; i < 7; i++) void send(`m${i}`);
    lose();
    connect();
    expect(texts().slice(7)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('R5.5 11.2 a paced send rejects TIMEOUT at requestTimeoutMs from the call and is never sent', async () => {
    pending.paceSends(0.1); // one send, then the next only after 11 s
    const first = codeOf(send('first'));
    const second = codeOf(send('second'));
    connect();
    expect(texts()).toEqual(['first']);
    vi.advanceTimersByTime(9_999);
    expect(pending.size).toBe(2);
    vi.advanceTimersByTime(1);
    expect(await second).toBe(RtmErrorCode.TIMEOUT);
    expect(await first).toBe(RtmErrorCode.TIMEOUT);
    vi.advanceTimersByTime(5_000);
    expect(texts()).toEqual(['first']);
  });

  it('R8 11.2 a send refused TOO_OFTEN gives its token back', () => {
    pending.paceSends(4); // burst 3
    connect();
    for (let i = 0; i < 3; i++) void send(`m${i}`).catch(() => undefined);
    for (const frame of wire) pending.settle({ t: 'res', id: frame.id, ok: false, code: 'TOO_OFTEN', message: 'slow down' });
    lose();
    for (let i = 0; i < 3; i++) void send(`q${i}`);
    connect();
    expect(texts().slice(3)).toEqual(['q0', 'q1', 'q2']);
  });
});
