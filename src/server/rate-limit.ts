/**
 * Request rates. Time is read from the monotonic clock (`performance.now()`), never from
 * `Date.now()`: a wall-clock step must neither refill a bucket nor empty one.
 */
import { performance } from 'node:perf_hooks';

/** A token bucket: `perSecond` takes a second on average, bursts up to `perSecond`. 0 = unlimited. */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly perSecond: number,
    now = performance.now(),
  ) {
    this.tokens = perSecond;
    this.refilledAt = now;
  }

  take(now = performance.now()): boolean {
    if (this.perSecond === 0) return true;
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket is full again, so a fresh one would behave the same. */
  isFull(now = performance.now()): boolean {
    if (this.perSecond === 0) return true;
    this.refill(now);
    return this.tokens >= this.perSecond;
  }

  private refill(now: number): void {
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.perSecond, this.tokens + (elapsed * this.perSecond) / 1000);
      this.refilledAt = now;
    }
  }
}

/** The request kinds that have a budget of their own per user. */
export type RequestKind = 'send' | 'membership' | 'query';

export interface RequestRates {
  /** peer.send, channel.send. */
  send: number;
  /** channel.join, channel.leave. */
  membership: number;
  /** Every other request of a session: channel.members, presence, user and channel attributes, member counts, presence subscriptions, token.renew. */
  query: number;
}

/** One user's budgets, one bucket per request kind. */
export class UserRateLimits {
  readonly send: RateLimiter;
  readonly membership: RateLimiter;
  readonly query: RateLimiter;

  constructor(rates: RequestRates) {
    this.send = new RateLimiter(rates.send);
    this.membership = new RateLimiter(rates.membership);
    this.query = new RateLimiter(rates.query);
  }

  take(kind: RequestKind): boolean {
    return this[kind].take();
  }

  isIdle(now: number): boolean {
    return this.send.isFull(now) && this.membership.isFull(now) && this.query.isFull(now);
  }
}

/**
 * The budgets of every user of this node, by uid, so that logging in again (or from another
 * socket) continues the same budget instead of starting a full one. A user's entry is forgotten
 * once all its buckets have refilled: from then on a fresh entry is the same as the old one, so
 * forgetting it gives nobody extra requests and the map holds only recently busy users.
 */
export class RateLimitRegistry {
  private readonly users = new Map<string, UserRateLimits>();

  constructor(private readonly rates: RequestRates) {}

  of(uid: string): UserRateLimits {
    let limits = this.users.get(uid);
    if (!limits) {
      limits = new UserRateLimits(this.rates);
      this.users.set(uid, limits);
    }
    return limits;
  }

  /** Forgets the users whose budgets are full again, except those `keep` says are in use. */
  sweep(keep: (uid: string) => boolean, now = performance.now()): void {
    for (const [uid, limits] of this.users) {
      if (!keep(uid) && limits.isIdle(now)) this.users.delete(uid);
    }
  }

  get size(): number {
    return this.users.size;
  }
}
