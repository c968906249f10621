/** R5.1 at volume: 10 000 peer messages across 100 users arrive exactly once, in order per sender. */
import { afterAll, describe, expect, it } from 'vitest';
import { Harness, type RawClient } from './helpers.js';

const h = new Harness();
afterAll(() => h.cleanup());

const USERS = 100;
const PER_USER = 100;

describe('R5.1 delivery at volume', () => {
  it('R5.1 10 000 peer messages across 100 users are delivered exactly once and in order per sender', async () => {
    const server = await h.server({ limits: { rateLimitPerSecond: 0 } });
    const uids = Array.from({ length: USERS }, (_, i) => `u${i}`);
    const clients: RawClient[] = [];
    for (const uid of uids) clients.push((await h.login(server, uid)).client);

    // Deterministic recipients: message k of user i goes to user (i + 1 + k * 7) mod USERS, never itself.
    const recipientOf = (i: number, k: number) => (i + 1 + ((k * 7) % (USERS - 1))) % USERS;
    await Promise.all(
      clients.map(async (client, i) => {
        // Pipelined in windows of 20 so that the sender never waits for each answer.
        for (let start = 0; start < PER_USER; start += 20) {
          const window = [];
          for (let k = start; k < start + 20; k++) {
            window.push(client.ok({ t: 'peer.send', msgId: `${i}:${k}`, to: uids[recipientOf(i, k)], text: `${i}:${k}`, offline: false }, 20_000));
          }
          for (const answer of await Promise.all(window)) expect(answer).toEqual({ hasPeerReceived: true });
        }
      }),
    );

    const expected = new Map<number, number>();
    for (let i = 0; i < USERS; i++) for (let k = 0; k < PER_USER; k++) expected.set(recipientOf(i, k), (expected.get(recipientOf(i, k)) ?? 0) + 1);
    let total = 0;
    for (let r = 0; r < USERS; r++) {
      const got = await clients[r]!.collect((f) => f.t === 'peer.msg', expected.get(r) ?? 0, 20_000);
      total += got.length;
      expect(got).toHaveLength(expected.get(r) ?? 0);
      // Exactly once: msgIds unique; seqs 1..n in order.
      expect(new Set(got.map((f) => f.msgId)).size).toBe(got.length);
      expect(got.map((f) => f.seq)).toEqual(Array.from({ length: got.length }, (_, n) => n + 1));
      // In order per sender.
      const bySender = new Map<string, number[]>();
      for (const f of got) {
        expect(f.from).toBe(uids[Number(f.msgId.split(':')[0])]);
        bySender.set(f.from, [...(bySender.get(f.from) ?? []), Number(f.msgId.split(':')[1])]);
      }
      for (const ks of bySender.values()) expect(ks).toEqual([...ks].sort((a, b) => a - b));
      clients[r]!.send({ t: 'peer.ack', seq: got.length });
    }
    expect(total).toBe(USERS * PER_USER);
  });
});
