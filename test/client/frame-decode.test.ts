/**
 * The hand-written check of peer.msg / channel.msg (the frames of every delivery) gives the same
 * answers as their schemas, on valid frames and on every kind of broken one (R8: a server that
 * breaks the protocol is a lost link, whichever check reads the frame).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelMessageFrame, PeerMessageFrame, decodeServerFrame, messageFrameOf } from '../../src/protocol/index.js';

const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(-1),
  fc.constant(2 ** 53),
  fc.constant(''),
  fc.constant('__proto__'),
  fc.constant('has space'),
  fc.constant('x'.repeat(65)),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const goodId = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: anyValue });

const frame = fc.record(
  {
    t: fc.constantFrom('channel.msg', 'peer.msg', 'channel.member', 'pong'),
    channel: field(goodId),
    seq: field(fc.nat()),
    msgId: field(fc.string({ minLength: 1, maxLength: 64 })),
    from: field(goodId),
    text: field(fc.string()),
    ts: field(fc.nat()),
    historical: field(fc.boolean()),
    offline: field(fc.boolean()),
    extra: fc.string(),
  },
  { requiredKeys: ['t'] },
);

describe('R8 reading delivery frames', () => {
  it('R8 the hand-written check of peer.msg and channel.msg agrees with their schemas on 5 000 random frames', () => {
    fc.assert(
      fc.property(frame, (value) => {
        const fast = messageFrameOf(value);
        const schema = value.t === 'peer.msg' ? PeerMessageFrame : ChannelMessageFrame;
        const parsed = schema.safeParse(value);
        const deliveryFrame = value.t === 'peer.msg' || value.t === 'channel.msg';
        if (fast !== null) expect(parsed.success && parsed.data).toEqual(fast);
        else if (deliveryFrame) expect(parsed.success).toBe(false);
        // The decoder sees the frame as the wire carries it: JSON has no -0 and no undefined.
        const text = JSON.stringify(value);
        const fastOnTheWire = messageFrameOf(JSON.parse(text));
        if (fastOnTheWire !== null) expect(decodeServerFrame(text)).toEqual({ ok: true, frame: fastOnTheWire });
      }),
      { numRuns: 5_000 },
    );
  });

  it('R8 a raw payload and every frame that is not a delivery go to the schema', () => {
    const base = { t: 'channel.msg', channel: 'r', seq: 1, msgId: 'm', from: 'a', text: '', ts: 1, historical: false };
    expect(messageFrameOf({ ...base, raw: 'AAAA' })).toBeNull();
    expect(decodeServerFrame(JSON.stringify({ ...base, raw: 'AAAA' }))).toMatchObject({ ok: true, frame: { raw: 'AAAA' } });
    expect(decodeServerFrame(JSON.stringify({ ...base, raw: '***' })).ok).toBe(false);
    expect(messageFrameOf({ t: 'pong' })).toBeNull();
    expect(decodeServerFrame('{"t":"pong"}')).toEqual({ ok: true, frame: { t: 'pong' } });
    expect(decodeServerFrame('not json')).toEqual({ ok: false, message: 'frame is not JSON' });
  });
});
