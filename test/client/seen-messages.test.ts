/** De-duplication by sequence and message id, and the resume point (R5.2, R5.3). */
import { describe, expect, it } from 'vitest';
import { SeenMessages } from '../../src/client/seen-messages.js';

const peer = (seq: number, msgId = `m${seq}`) => ({ t: 'peer.msg' as const, seq, msgId, from: 'a', text: 'x', ts: 1, offline: false });
const chan = (channel: string, seq: number) => ({
  t: 'channel.msg' as const, channel, seq, msgId: `c${seq}`, from: 'a', text: 'x', ts: 1, historical: false,
});

describe('R5.2 seen messages', () => {
  it('R5.2 accepts each peer sequence once and resumes after the last one seen', () => {
    const seen = new SeenMessages();
    expect([1, 2, 2, 1, 3].map((s) => seen.acceptPeer(peer(s)))).toEqual([true, true, false, false, true]);
    expect(seen.resumePoint([]).peerSeq).toBe(3);
  });

  it('R5.2 after a fresh login the numbering restarts, and message ids still catch a repeat', () => {
    const seen = new SeenMessages();
    seen.acceptPeer(peer(7, 'same'));
    seen.resetPeer();
    expect(seen.acceptPeer(peer(1, 'same'))).toBe(false);
    expect(seen.acceptPeer(peer(2, 'other'))).toBe(true);
  });

  it('R11.2 a new epoch restarts every numbering; a message both histories carry (same sender and id) is still caught', () => {
    const seen = new SeenMessages();
    expect(seen.acceptChannel(chan('r1', 40))).toBe(true);
    expect(seen.acceptPeer(peer(30, 'p-old'))).toBe(true);
    seen.newEpoch();
    expect(seen.resumePoint(['r1'])).toEqual({ peerSeq: 0, channels: [{ channel: 'r1', seq: 0 }] });
    expect(seen.acceptChannel({ ...chan('r1', 1), msgId: 'c40' })).toBe(false);
    expect(seen.acceptChannel(chan('r1', 2))).toBe(true);
    expect(seen.acceptPeer(peer(1, 'p-old'))).toBe(false);
    expect(seen.acceptPeer(peer(2, 'p-new'))).toBe(true);
  });

  it('R5.2 the id memory is bounded: thousands of ids later, an early one is forgotten, a recent one is not', () => {
    const seen = new SeenMessages();
    for (let seq = 1; seq <= 5000; seq++) seen.acceptPeer(peer(seq, `id-${seq}`));
    seen.resetPeer();
    expect(seen.acceptPeer(peer(1, 'id-4999'))).toBe(false);
    expect(seen.acceptPeer(peer(2, 'id-1'))).toBe(true);
  });

  it('R5.3 channel sequences are per channel; a join baseline hides older history; leaving forgets', () => {
    const seen = new SeenMessages();
    seen.channelJoined('r1', 10);
    expect(seen.acceptChannel(chan('r1', 9))).toBe(false);
    expect(seen.acceptChannel(chan('r1', 11))).toBe(true);
    expect(seen.acceptChannel(chan('r2', 1))).toBe(true);
    expect(seen.resumePoint(['r1', 'r2', 'r3']).channels).toEqual([
      { channel: 'r1', seq: 11 },
      { channel: 'r2', seq: 1 },
      { channel: 'r3', seq: 0 },
    ]);
    seen.channelLeft('r1');
    expect(seen.channelSeq('r1')).toBeUndefined();
  });
});
