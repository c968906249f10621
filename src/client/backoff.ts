/**
 * How long the link waits between dial attempts (R3.3): bounded exponential backoff with
 * jitter. The cap stays small next to the interruption grace so that a restored network is
 * found again well within the presence window (R4.2): cap = min(2 s, grace / 2).
 */
import type { Timing } from '../../machines/timing.js';

export interface RedialPolicy {
  /** Delay before attempt `failures + 1`, after `failures` consecutive failed attempts. */
  delayAfter(failures: number): number;
  /** How long one attempt (TCP, WebSocket handshake, login or resume) may take. */
  attemptTimeoutMs: number;
}

export function redialPolicy(timing: Timing, random: () => number = Math.random): RedialPolicy {
  const capMs = Math.min(2000, timing.interruptionGraceMs / 2);
  const firstMs = Math.max(5, capMs / 16);
  return {
    delayAfter(failures) {
      const ceiling = Math.min(capMs, firstMs * 2 ** Math.min(failures, 16));
      // "Equal jitter": never less than half the ceiling, so attempts stay spread out.
      return ceiling / 2 + (random() * ceiling) / 2;
    },
    // A handshake in a black hole counts as a failed attempt after this long. One second at
    // least, so that a loaded machine is not mistaken for a dead network; never past the login
    // timeout, which ends the first login anyway.
    attemptTimeoutMs: Math.min(timing.loginTimeoutMs, Math.max(1000, Math.min(5000, timing.interruptionGraceMs / 2))),
  };
}
