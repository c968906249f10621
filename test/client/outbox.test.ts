/** The outbox on its own (R5.5): queueing, order, re-sending after a lost link, timeouts, failing at logout. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RtmError, RtmErrorCode } from '../../src/errors.js';
import { Outbox, type RequestFrame } from '../../src/client/outbox.js';

let wire: RequestFrame[];
let up: boolean;
let outbox: Outbox;

beforeEach(() => {
  vi.useFakeTimers();
  wire = [];
  up = false;
  outbox = new Outbox((encoded) => {
    if (!up) return false;
    wire.push(JSON.parse(encoded.text) as RequestFrame);
    return true;
  }, 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

const send = (text: string) =>
  outbox.request({ t: 'peer.send', msgId: `id-${text}`, to: 'bob', text, offline: false });

describe('R5.5 outbox', () => {
  it('R5.5 queues while the link is down and sends in call order when it comes up', async () => {
    const a = send('a');
    const b = send('b');
    expect(wire).toEqual([]);
    up = true;
    outbox.linkUp();
    expect(wire.map((f) => (f.t === 'peer.send' ? f.text : ''))).toEqual(['a', 'b']);
    outbox.settle({ t: 'res', id: wire[1]!.id, ok: true, data: { hasPeerReceived: true } });
    outbox.settle({ t: 'res', id: wire[0]!.id, ok: true, data: { hasPeerReceived: false } });
    expect((await a).data).toEqual({ hasPeerReceived: false });
    expect((await b).data).toEqual({ hasPeerReceived: true });
    expect(outbox.size).toBe(0);
  });

  it('R5.5 re-sends what was in flight at link loss with the same request and message id, once per link', async () => {
    up = true;
    outbox.linkUp();
    const a = send('a');
    expect(wire).toHaveLength(1);
    outbox.linkDown();
    up = false;
    outbox.linkUp(); // transmit refuses: nothing is lost
    up = true;
    outbox.linkUp();
    expect(wire).toHaveLength(2);
    expect(wire[1]).toEqual(wire[0]);
    outbox.settle({ t: 'res', id: wire[0]!.id, ok: true, data: {} });
    expect((await a).resent).toBe(true);
  });

  it('R5.5 a request not answered within the timeout rejects TIMEOUT and is not sent afterwards', async () => {
    const a = send('a');
    const settled = a.catch((e: unknown) => e);
    vi.advanceTimersByTime(1000);
    const error = (await settled) as RtmError;
    expect(error).toBeInstanceOf(RtmError);
    expect(error.code).toBe(RtmErrorCode.TIMEOUT);
    up = true;
    outbox.linkUp();
    expect(wire).toEqual([]);
  });

  it('urgent requests go out ahead of the queue as soon as a socket is up', () => {
    send('queued');
    up = true;
    void outbox.request({ t: 'attrs.set', attrs: [] }, { urgent: true });
    expect(wire.map((f) => f.t)).toEqual(['attrs.set']);
    outbox.linkUp();
    expect(wire.map((f) => f.t)).toEqual(['attrs.set', 'peer.send']);
  });

  it('server errors reject with their code; failAll rejects everything pending', async () => {
    up = true;
    outbox.linkUp();
    const a = send('a').catch((e: unknown) => e);
    const b = send('b').catch((e: unknown) => e);
    outbox.settle({ t: 'res', id: wire[0]!.id, ok: false, code: 'TOO_OFTEN', message: 'slow down' });
    outbox.failAll(RtmErrorCode.LOGGED_OUT, 'bye');
    expect(((await a) as RtmError).code).toBe('TOO_OFTEN');
    expect(((await b) as RtmError).code).toBe('LOGGED_OUT');
    outbox.settle({ t: 'res', id: wire[1]!.id, ok: true, data: {} }); // late answer: ignored
    expect(outbox.size).toBe(0);
  });
});
