/**
 * How long the link waits between dial attempts, with "equal jitter" (between half the ceiling
 * and the ceiling). The link machine's `backoff` delay (machines/link.machine.ts) is this policy;
 * the grace clock it depends on is the connection machine's, which tells the link when the
 * connection is RECONNECTING.
 * - While logging in and inside the interruption grace (R3.1) the ceiling is
 *   min(500 ms, grace / 8) from the first retry on (the link itself re-dials a lost link at
 *   once), so a network that comes back within the grace period is found again before anyone
 *   notices. There is no faster ramp before it: when a server goes away, every client of it
 *   retries at the same moment, and retries at 60–250 ms kept a process holding 1000 clients
 *   busy with refused dials through a 1 s outage (4.0 dials per client instead of 2.9–3.5).
 * - In RECONNECTING the ceiling doubles from cap / 16 up to the cap, min(2 s, grace / 2)
 *   (R3.3): small enough that a restored network is found again well within the presence
 *   window (R4.2).
 */
import { attemptTimeoutMs, redialDelayMs } from '../../machines/link.machine.js';
import type { Timing } from '../../machines/timing.js';

export interface RedialPolicy {
  /**
   * Delay before attempt `failures + 1`, after `failures` consecutive failed attempts;
   * `sinceLossMs` is how long the link has been down (undefined while logging in).
   */
  delayAfter(failures: number, sinceLossMs?: number): number;
  /**
   * How long one phase of an attempt (dialing until the socket opens, then the login or resume
   * until it is answered) may go without progress before the attempt is abandoned.
   */
  attemptTimeoutMs: number;
}

export function redialPolicy(timing: Timing, random: () => number = Math.random): RedialPolicy {
  return {
    delayAfter(failures, sinceLossMs) {
      const reconnecting = sinceLossMs !== undefined && sinceLossMs >= timing.interruptionGraceMs;
      return redialDelayMs(timing, failures, reconnecting, random());
    },
    attemptTimeoutMs: attemptTimeoutMs(timing),
  };
}
