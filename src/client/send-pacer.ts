/**
 * The client's model of the server's per-session send budget (issue 11.2): the server refuses
 * peer and channel sends beyond `sendRatePerSecond` (a token bucket whose burst is one second's
 * worth, kept per session across resumes) with TOO_OFTEN. Sends queued during an outage were
 * made at a legal rate; flushing them at once after the reconnect would be a burst the server
 * refuses. The outbox releases them as fast as this model says the server will accept.
 *
 * The model counts every send the client transmits, live ones too, so it knows the server's
 * bucket is not full after a resume that followed a burst. It stays below the server's figures
 * (rate × RATE_MARGIN, burst × BURST_MARGIN): the server counts a send when it arrives, and
 * arrivals bunch up on the network; the smaller burst absorbs that jitter.
 */
const RATE_MARGIN = 0.9;
const BURST_MARGIN = 0.75;

export class SendPacer {
  /** 0: the server has no limit (or has not announced one yet). */
  private perSecond = 0;
  private capacity = 0;
  private tokens = 0;
  private refilledAt = 0;

  /** The limit the server announced in its grant. The first one starts from a full bucket, as the server's does. */
  configure(announcedPerSecond: number, now = Date.now()): void {
    const first = this.perSecond === 0 && this.capacity === 0;
    this.refill(now);
    this.perSecond = announcedPerSecond * RATE_MARGIN;
    this.capacity = announcedPerSecond > 0 ? Math.max(1, Math.floor(announcedPerSecond * BURST_MARGIN)) : 0;
    this.tokens = first ? this.capacity : Math.min(this.tokens, this.capacity);
  }

  /** Milliseconds until the next send may go out; 0 = now. */
  waitMs(now = Date.now()): number {
    if (this.perSecond === 0) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /** A send went out. Live sends are not held back, so the model may go below zero, as a debt. */
  take(now = Date.now()): void {
    if (this.perSecond === 0) return;
    this.refill(now);
    this.tokens -= 1;
  }

  /** The server refused a send with TOO_OFTEN: it took no token for it. */
  refund(): void {
    if (this.perSecond === 0) return;
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }

  private refill(now: number): void {
    const elapsed = now - this.refilledAt;
    this.refilledAt = now;
    if (elapsed > 0 && this.perSecond > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.perSecond) / 1000);
    }
  }
}
