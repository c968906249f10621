/**
 * How long the link waits between dial attempts, with "equal jitter" (between half the ceiling
 * and the ceiling).
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
import type { Timing } from '../../machines/timing.js';

export interface RedialPolicy {
  /**
   * Delay before attempt `failures + 1`, after `failures` consecutive failed attempts;
   * `sinceLossMs` is how long the link has been down (undefined while logging in).
   */
  delayAfter(failures: number, sinceLossMs?: number): number;
  /**
   * How long one attempt (TCP, WebSocket handshake, login or resume) may go without progress
   * (the socket opening, a frame arriving) before it is abandoned.
   */
  attemptTimeoutMs: number;
}

export function redialPolicy(timing: Timing, random: () => number = Math.random): RedialPolicy {
  const capMs = Math.min(2000, timing.interruptionGraceMs / 2);
  const graceCapMs = Math.min(500, timing.interruptionGraceMs / 8);
  const firstMs = Math.max(5, capMs / 16);
  return {
    delayAfter(failures, sinceLossMs) {
      const withinGrace = sinceLossMs === undefined || sinceLossMs < timing.interruptionGraceMs;
      const ceiling = withinGrace ? graceCapMs : Math.min(capMs, firstMs * 2 ** Math.min(failures, 16));
      // "Equal jitter": never less than half the ceiling, so attempts stay spread out.
      return ceiling / 2 + (random() * ceiling) / 2;
    },
    // An attempt that makes no progress for this long (a black hole) counts as failed. One second at
    // least, so that a loaded machine is not mistaken for a dead network; never past the login
    // timeout, which ends the first login anyway.
    attemptTimeoutMs: Math.min(timing.loginTimeoutMs, Math.max(1000, Math.min(5000, timing.interruptionGraceMs / 2))),
  };
}
