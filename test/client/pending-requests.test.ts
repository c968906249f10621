/** The pending requests (the client's outbox) on their own (R5.5): queueing, order, re-sending after a lost link, timeouts, failing at logout. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RtmError, RtmErrorCode } from '../../src/errors.js';
import { PendingRequests, type RequestFrame } from '../../src/client/pending-requests.js';

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
  }, 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

const send = (text: string) =>
  pending.request({ t: 'peer.send', msgId: `id-${text}`, to: 'bob', text, offline: false });

describe('R5.5 outbox', () => {
  it('R5.5 queues while the link is down and sends in call order when it comes up', async () => {
    const a = send('a');
    const b = send('b');
    expect(wire).toEqual([]);
    up = true;
    pending.linkUp();
    expect(wire.map((f) => (f.t === 'peer.send' ? f.text : ''))).toEqual(['a', 'b']);
    pending.settle({ t: 'res', id: wire[1]!.id, ok: true, data: { hasPeerReceived: true } });
    pending.settle({ t: 'res', id: wire[0]!.id, ok: true, data: { hasPeerReceived: false } });
    expect((await a).data).toEqual({ hasPeerReceived: false });
    expect((await b).data).toEqual({ hasPeerReceived: true });
    expect(pending.size).toBe(0);
  });

  it('R5.5 re-sends what was in flight at link loss with the same request and message id, once per link', async () => {
    up = true;
    pending.linkUp();
    const a = send('a');
    expect(wire).toHaveLength(1);
    pending.linkDown();
    up = false;
    pending.linkUp(); // transmit refuses: nothing is lost
    up = true;
    pending.linkUp();
    expect(wire).toHaveLength(2);
    expect(wire[1]).toEqual(wire[0]);
    pending.settle({ t: 'res', id: wire[0]!.id, ok: true, data: {} });
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
    pending.linkUp();
    expect(wire).toEqual([]);
  });

  it('urgent requests go out ahead of the queue as soon as a socket is up', () => {
    send('queued');
    up = true;
    void pending.request({ t: 'attrs.set', attrs: [] }, { urgent: true });
    expect(wire.map((f) => f.t)).toEqual(['attrs.set']);
    pending.linkUp();
    expect(wire.map((f) => f.t)).toEqual(['attrs.set', 'peer.send']);
  });

  it('server errors reject with their code; failAll rejects everything pending', async () => {
    up = true;
    pending.linkUp();
    const a = send('a').catch((e: unknown) => e);
    const b = send('b').catch((e: unknown) => e);
    pending.settle({ t: 'res', id: wire[0]!.id, ok: false, code: 'TOO_OFTEN', message: 'slow down' });
    pending.failAll(RtmErrorCode.LOGGED_OUT, 'bye');
    expect(((await a) as RtmError).code).toBe('TOO_OFTEN');
    expect(((await b) as RtmError).code).toBe('LOGGED_OUT');
    pending.settle({ t: 'res', id: wire[1]!.id, ok: true, data: {} }); // late answer: ignored
    expect(pending.size).toBe(0);
  });
});
