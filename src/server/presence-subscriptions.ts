/**
 * subscribePeersOnlineStatus (issue 14.2): a session watches users and is told each change of
 * their PeerOnlineState: ONLINE (a socket attached), UNREACHABLE (link lost, within the
 * presence window, R4.1) and OFFLINE (session ended). Subscriptions belong to the watching
 * session: a resume keeps them, its end drops them. A notice that finds the watcher's link down
 * is not kept; the client asks again after every reconnect and reports what changed meanwhile.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import {
  MAX_PRESENCE_SUBSCRIPTIONS,
  encodeFrame,
  type ClientFrameOf,
  type PeerOnlineState,
  type PresenceStateResult,
} from '../protocol/index.js';
import type { ServerContext } from './context.js';
import type { LocalSession } from './local-session.js';
import type { SessionEndReason } from '../../machines/session.machine.js';
import { SharedFrame } from './ws-frame.js';

export class PresenceSubscriptions {
  /** Watched uid → the local sessions watching it. */
  private readonly watchers = new Map<string, Set<LocalSession>>();
  /** Watching session → the uids it watches. */
  private readonly watched = new Map<LocalSession, Set<string>>();

  constructor(private readonly ctx: ServerContext) {}

  async subscribe(session: LocalSession, frame: ClientFrameOf<'presence.subscribe'>): Promise<PresenceStateResult> {
    const mine = this.watched.get(session) ?? new Set<string>();
    const added = frame.uids.filter((uid) => !mine.has(uid));
    if (mine.size + new Set(added).size > MAX_PRESENCE_SUBSCRIPTIONS) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `at most ${MAX_PRESENCE_SUBSCRIPTIONS} subscribed users`);
    }
    const status = await this.states(frame.uids);
    // The session may have ended while the store answered: nothing to keep for it then.
    if (session.ended) return { status };
    for (const uid of added) {
      mine.add(uid);
      let watching = this.watchers.get(uid);
      if (!watching) {
        watching = new Set();
        this.watchers.set(uid, watching);
      }
      watching.add(session);
    }
    if (mine.size > 0) this.watched.set(session, mine);
    return { status };
  }

  unsubscribe(session: LocalSession, frame: ClientFrameOf<'presence.unsubscribe'>): void {
    const mine = this.watched.get(session);
    if (!mine) return;
    for (const uid of frame.uids) {
      mine.delete(uid);
      this.unwatch(uid, session);
    }
    if (mine.size === 0) this.watched.delete(session);
  }

  // ---- told by the session service ----

  // A change goes to the watchers on every node, through the node bus; `deliver` is its arrival here.

  online(uid: string): void {
    this.ctx.bus.notice({ t: 'presence', uid, state: 'ONLINE' });
  }

  away(uid: string): void {
    this.ctx.bus.notice({ t: 'presence', uid, state: 'UNREACHABLE' });
  }

  /** A session ended: its watchers hear OFFLINE (not for a login elsewhere: the user is still on), and its own subscriptions go. */
  ended(session: LocalSession, reason: SessionEndReason): void {
    if (reason !== 'REMOTE_LOGIN') this.ctx.bus.notice({ t: 'presence', uid: session.uid, state: 'OFFLINE' });
    for (const uid of this.watched.get(session) ?? []) this.unwatch(uid, session);
    this.watched.delete(session);
  }

  /** Subscriptions held, for tests and stats. */
  get size(): number {
    let count = 0;
    for (const uids of this.watched.values()) count += uids.size;
    return count;
  }

  /** A change of `uid`'s state, from the node bus: to the sessions on this node watching it. */
  deliver(uid: string, state: PeerOnlineState): void {
    const watching = this.watchers.get(uid);
    if (!watching) return;
    const payload = new SharedFrame(Buffer.from(encodeFrame({ t: 'presence.changed', status: [[uid, state]] })));
    for (const session of watching) session.connection?.deliverEvent(payload);
  }

  private unwatch(uid: string, session: LocalSession): void {
    const watching = this.watchers.get(uid);
    watching?.delete(session);
    if (watching?.size === 0) this.watchers.delete(uid);
  }

  /** A session on this node says whether its socket is attached; one only in the store is taken as online. */
  private async states(uids: readonly string[]): Promise<Array<[string, PeerOnlineState]>> {
    const inStore = await this.ctx.store.areOnline(uids);
    return uids.map((uid, i) => {
      const local = this.ctx.sessions.get(uid);
      if (local && !local.ended) return [uid, local.connection ? 'ONLINE' : 'UNREACHABLE'];
      return [uid, inStore[i] ? 'ONLINE' : 'OFFLINE'];
    });
  }
}
