/**
 * The client side of subscribePeersOnlineStatus (issue 14.2): which users the app watches and
 * the state last reported for each, so that `PeersOnlineStatusChanged` reports each change once.
 * After a reconnect the client asks the server again for every watched user and reports only
 * what changed while the link was down (as Agora RTM does).
 */
import type { PeerOnlineState } from '../status-codes.js';

/** `{ peerId: PeerOnlineState }`, as `PeersOnlineStatusChanged` reports it. */
export type PeersOnlineStatusMap = Record<string, PeerOnlineState>;

export class PresenceWatch {
  /** Watched uid → the state last reported. */
  private readonly states = new Map<string, PeerOnlineState>();

  constructor(private readonly report: (status: PeersOnlineStatusMap) => void) {}

  get watched(): string[] {
    return [...this.states.keys()];
  }

  /** The answer to subscribePeersOnlineStatus: every asked user is watched now, and reported. */
  subscribed(status: ReadonlyArray<readonly [string, PeerOnlineState]>): void {
    this.apply(status, true);
  }

  /** A notice of the server, or the states asked again after a reconnect: watched users whose state moved are reported. */
  changed(status: ReadonlyArray<readonly [string, PeerOnlineState]>): void {
    this.apply(status, false);
  }

  unsubscribed(uids: readonly string[]): void {
    for (const uid of uids) this.states.delete(uid);
  }

  /** Logout: subscriptions end with the login (Agora RTM 1.x). */
  clear(): void {
    this.states.clear();
  }

  private apply(status: ReadonlyArray<readonly [string, PeerOnlineState]>, subscribing: boolean): void {
    const report: PeersOnlineStatusMap = {};
    let any = false;
    for (const [uid, state] of status) {
      if (!subscribing && !this.states.has(uid)) continue;
      const before = this.states.get(uid);
      this.states.set(uid, state);
      if (!subscribing && before === state) continue;
      Object.defineProperty(report, uid, { value: state, enumerable: true, writable: true, configurable: true });
      any = true;
    }
    if (any) this.report(report);
  }
}
