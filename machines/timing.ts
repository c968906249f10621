/**
 * The timing rules of SPEC §2. Every value is configurable; the client, the server and the
 * machines all accept the same (partial) object, so a test can scale every rule at once.
 */
export interface Timing {
  /** CONNECTING that has not succeeded after this long → DISCONNECTED / LOGIN_TIMEOUT (R2.3). */
  loginTimeoutMs: number;
  /** A lost link not restored within this long → RECONNECTING / INTERRUPTED (R3.2). */
  interruptionGraceMs: number;
  /** A user away this long leaves the online list and its channels (R4.3). */
  presenceTimeoutMs: number;
  /** Channel messages replayed on reconnect were sent within this window before it (R5.3). */
  channelReplayWindowMs: number;
  /** … and at most this many of them, the most recent (R5.3). */
  channelReplayMax: number;
  /** A send not acknowledged within this long rejects with TIMEOUT (R5.5). */
  requestTimeoutMs: number;
}

export const defaultTiming: Readonly<Timing> = Object.freeze({
  loginTimeoutMs: 6000,
  interruptionGraceMs: 4000,
  presenceTimeoutMs: 30000,
  channelReplayWindowMs: 30000,
  channelReplayMax: 32,
  requestTimeoutMs: 10000,
});

const timingKeys = Object.keys(defaultTiming) as Array<keyof Timing>;

/** Timings this module has resolved (frozen): resolving one again returns it as it is. */
const resolved = new WeakSet<object>();

/**
 * Fills the defaults in and rejects values that would make the rules meaningless. The result
 * is frozen, and passing it in again returns the same object, so many actors built from one
 * configuration share one timing object.
 */
export function resolveTiming(partial: Partial<Timing> = {}): Timing {
  if (resolved.has(partial)) return partial as Timing;
  const timing = { ...defaultTiming };
  for (const key of timingKeys) {
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`timing.${key} must be a positive finite number, got ${String(value)}`);
    }
    timing[key] = value;
  }
  if (timing.presenceTimeoutMs < timing.interruptionGraceMs) {
    throw new RangeError('timing.presenceTimeoutMs must not be shorter than timing.interruptionGraceMs');
  }
  Object.freeze(timing);
  resolved.add(timing);
  return timing;
}

/** Multiplies every duration by `factor` (counts stay as they are): for tests and demos. */
export function scaleTiming(factor: number, base: Partial<Timing> = {}): Timing {
  const t = resolveTiming(base);
  return {
    loginTimeoutMs: t.loginTimeoutMs * factor,
    interruptionGraceMs: t.interruptionGraceMs * factor,
    presenceTimeoutMs: t.presenceTimeoutMs * factor,
    channelReplayWindowMs: t.channelReplayWindowMs * factor,
    channelReplayMax: t.channelReplayMax,
    requestTimeoutMs: t.requestTimeoutMs * factor,
  };
}
