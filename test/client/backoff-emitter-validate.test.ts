/** Small parts of the client: the redial policy (R3.3), the typed emitter, argument checks (R8). */
import { describe, expect, it } from 'vitest';
import { redialPolicy } from '../../src/client/backoff.js';
import { TypedEmitter } from '../../src/client/emitter.js';
import { checkAttributes, checkId, checkMessage, pairsToRecord } from '../../src/client/validate.js';
import { RtmError } from '../../src/errors.js';
import { defaultTiming, scaleTiming } from '../../machines/timing.js';

describe('R3.3 redial policy', () => {
  const inReconnecting = defaultTiming.interruptionGraceMs;

  it('R3.3 in RECONNECTING grows exponentially with jitter, capped at min(2 s, grace / 2)', () => {
    const low = redialPolicy(defaultTiming, () => 0);
    const high = redialPolicy(defaultTiming, () => 0.999999);
    const delays = Array.from({ length: 12 }, (_, n) => high.delayAfter(n, inReconnecting));
    for (let n = 1; n < delays.length; n++) expect(delays[n]!).toBeGreaterThanOrEqual(delays[n - 1]!);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(high.delayAfter(50, inReconnecting)).toBeCloseTo(2000, 0);
    expect(low.delayAfter(50, inReconnecting)).toBeCloseTo(1000, 0); // jitter keeps at least half the ceiling
    const scaled = redialPolicy(scaleTiming(0.1), () => 0.999999);
    expect(scaled.delayAfter(50, scaleTiming(0.1).interruptionGraceMs)).toBeLessThanOrEqual(200);
  });

  it('R3.1 inside the grace period, and while logging in, redials stay at most min(500 ms, grace / 8) apart', () => {
    const high = redialPolicy(defaultTiming, () => 0.999999);
    expect(high.delayAfter(50, inReconnecting - 1)).toBeCloseTo(500, 0);
    expect(high.delayAfter(50, undefined)).toBeCloseTo(500, 0);
    expect(redialPolicy(scaleTiming(0.1), () => 0.999999).delayAfter(50, 0)).toBeCloseTo(50, 0);
  });

  it('R3.1 inside the grace period every retry waits half the cap to the cap, the first one too (no burst of early retries)', () => {
    const low = redialPolicy(defaultTiming, () => 0);
    const high = redialPolicy(defaultTiming, () => 0.999999);
    for (const failures of [0, 1, 2, 5]) {
      for (const sinceLoss of [0, 1000, inReconnecting - 1, undefined]) {
        expect(low.delayAfter(failures, sinceLoss)).toBeCloseTo(250, 0);
        expect(high.delayAfter(failures, sinceLoss)).toBeCloseTo(500, 0);
      }
    }
  });

  it('R3.3 every attempt is bounded in time, never past the login timeout', () => {
    expect(redialPolicy(defaultTiming).attemptTimeoutMs).toBe(2000);
    expect(redialPolicy(scaleTiming(0.1)).attemptTimeoutMs).toBe(600);
  });
});

class Events extends TypedEmitter<{ ping: (n: number) => void }> {
  fire(n: number) {
    this.emit('ping', n);
  }
}

describe('typed emitter', () => {
  it('on, once and off; a throwing listener does not stop the others', () => {
    const e = new Events();
    const seen: string[] = [];
    const always = (n: number) => seen.push(`always ${n}`);
    e.on('ping', () => {
      throw new Error('listener bug');
    });
    e.on('ping', always);
    e.once('ping', (n) => seen.push(`once ${n}`));
    const original = console.error;
    console.error = () => undefined;
    try {
      e.fire(1);
      e.fire(2);
      e.off('ping', always);
      e.fire(3);
    } finally {
      console.error = original;
    }
    expect(seen).toEqual(['always 1', 'once 1', 'always 2']);
  });
});

describe('R8 argument checks', () => {
  it('R8 ids, messages and attributes', () => {
    expect(checkId('alice', 'uid')).toBe('alice');
    for (const bad of ['', ' ', 'a b', 'x'.repeat(65), 'ü', null, 3, 'constructor']) {
      expect(() => checkId(bad, 'uid')).toThrow(RtmError);
    }
    expect(() => checkMessage({ text: 'x'.repeat(32 * 1024 + 1) })).toThrow(/32768/);
    expect(checkMessage({ text: 'x'.repeat(32 * 1024) })).toHaveLength(32 * 1024);
    expect(() => checkMessage(null)).toThrow(RtmError);
    expect(checkAttributes({ a: '1' })).toEqual([['a', '1']]);
    expect(() => checkAttributes([])).toThrow(RtmError);
    const record = pairsToRecord([['__proto__', 'x'], ['k', 'v']]);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(record).toEqual({ k: 'v' });
  });
});
