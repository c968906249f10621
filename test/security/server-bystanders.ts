/**
 * The bystanders of the security suite: two users who keep exchanging peer messages (and
 * acknowledging them) for the whole of a test, over their own real sockets. Each attack must
 * leave them untouched: every message answered ok, delivered once, in order, no socket closed.
 */
import { expect } from 'vitest';
import type { RtmServer } from '../../src/server/index.js';
import { Harness, type Frame, type RawClient } from '../server/helpers.js';

export interface Bystanders {
  /** Stops the exchange and checks that nothing was lost, refused, duplicated or reordered. */
  verify(): Promise<void>;
  /** Messages delivered so far, both directions. */
  delivered(): number;
}

const EVERY_MS = 25;
const MIN_MESSAGES = 5;

export async function startBystanders(h: Harness, server: RtmServer, prefix = 'bystander'): Promise<Bystanders> {
  const a = await h.login(server, `${prefix}-a`, { pingEveryMs: 100 });
  const b = await h.login(server, `${prefix}-b`, { pingEveryMs: 100 });
  const lanes = [lane(a.client, b.client, `${prefix}-b`, 'ab'), lane(b.client, a.client, `${prefix}-a`, 'ba')];
  return {
    delivered: () => lanes.reduce((n, l) => n + l.received(), 0),
    async verify() {
      for (const l of lanes) await l.stop();
      expect(a.client.isClosed || b.client.isClosed, 'a bystander socket was closed').toBe(false);
      for (const l of lanes) l.check();
      expect(lanes.every((l) => l.sent() > 0)).toBe(true);
    },
  };
}

function lane(from: RawClient, to: RawClient, toUid: string, tag: string) {
  let n = 0;
  let running = true;
  const answers: Array<Promise<Frame>> = [];
  const sendOne = () => {
    if (!running) return;
    const msgId = `${tag}-${n++}`;
    answers.push(from.request({ t: 'peer.send', msgId, to: toUid, text: msgId, offline: false }, 10_000));
  };
  sendOne();
  const timer = setInterval(sendOne, EVERY_MS);
  // Acknowledge what arrives, as a real client does, so the inbox never fills.
  let acked = 0;
  const acker = setInterval(() => {
    const seqs = to.all((f) => f.t === 'peer.msg').map((f) => f.seq as number);
    const top = seqs.length > 0 ? Math.max(...seqs) : 0;
    if (top > acked) {
      acked = top;
      to.send({ t: 'peer.ack', seq: top });
    }
  }, 50);
  const received = () => to.all((f) => f.t === 'peer.msg' && String(f.msgId).startsWith(`${tag}-`)).length;
  return {
    sent: () => n,
    received,
    async stop() {
      // However short the attack, the exchange overlaps it by a few messages at least.
      while (n < MIN_MESSAGES) await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
      running = false;
      clearInterval(timer);
      const results = await Promise.all(answers);
      const refused = results.filter((r) => !r.ok);
      expect(refused, `bystander sends refused: ${JSON.stringify(refused.slice(0, 3))}`).toEqual([]);
      await to.collect((f) => f.t === 'peer.msg' && String(f.msgId).startsWith(`${tag}-`), n, 10_000);
      clearInterval(acker);
    },
    check() {
      const ids = to.all((f) => f.t === 'peer.msg' && String(f.msgId).startsWith(`${tag}-`)).map((f) => f.msgId as string);
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => `${tag}-${i}`));
    },
  };
}
