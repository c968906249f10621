/**
 * Login, resume, logout and ban (R4, R6, R7). One sessionMachine actor per logged-in uid holds
 * the presence timer; this service attaches and detaches sockets, feeds the actor LINK_LOST /
 * RESUMED / LOGOUT / REMOTE_LOGIN / BANNED, and carries out the end of a session when the actor
 * reaches a final state. Everything for one uid runs under a per-uid lock.
 */
import { randomUUID } from 'node:crypto';
import type { SessionEndReason, SessionOutput } from '../../machines/session.machine.js';
import { RtmError, RtmErrorCode } from '../errors.js';
import { CloseCode, type ClientFrameOf, type SessionGrant } from '../protocol/index.js';
import type { ChannelService } from './channel-service.js';
import { mergeReplays, type Connection, type Replay } from './connection.js';
import { KeyedLock, type ServerContext } from './context.js';
import { LocalSession } from './local-session.js';
import type { PeerService } from './peer-service.js';
import type { ControlMessage, OrphanedSession } from './bus/node-bus.js';
import type { SessionRecord } from './store/store.js';
import { verifyToken } from './token.js';

export interface Granted {
  data: SessionGrant;
  replay: Replay;
}

/** A resume answered by ending its socket: the session was ended by a login elsewhere or a ban. */
export interface Kicked {
  kick: 'REMOTE_LOGIN' | 'BANNED_BY_SERVER';
}

/** What the Agora-compatibility services (14.2) hear of sessions: presence notices, token expiry notices. */
export interface SessionObserver {
  /** A socket is attached (login, resume). */
  online(session: LocalSession): void;
  /** The socket was lost; the presence window runs. */
  away(session: LocalSession): void;
  ended(session: LocalSession, reason: SessionEndReason): void;
  /** The session presented a token expiring at `expiresAt` (ms), or none (anonymous login). */
  tokenPresented(session: LocalSession, expiresAt: number | null): void;
}

const NO_OBSERVER: SessionObserver = { online() {}, away() {}, ended() {}, tokenPresented() {} };

export class SessionService {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly ctx: ServerContext,
    private readonly channels: ChannelService,
    private readonly peers: PeerService,
    private readonly observer: SessionObserver = NO_OBSERVER,
  ) {}

  login(connection: Connection, frame: ClientFrameOf<'login'>): Promise<Granted> {
    const { uid } = frame;
    return this.lock.run(uid, async () => {
      const expiresAt = this.checkToken(uid, frame.token);
      if (await this.ctx.store.isBanned(uid)) {
        this.ctx.logger.log('info', 'login.rejected', { uid, code: RtmErrorCode.REJECTED });
        throw new RtmError(RtmErrorCode.REJECTED, `${uid} is banned`);
      }
      if (connection.closed) throw new RtmError(RtmErrorCode.LOGGED_OUT, 'socket closed');
      // The same uid logged in elsewhere: that session ends and its socket is kicked (R6.1).
      const previous = this.ctx.sessions.get(uid);
      if (previous) await this.endUnderLock(previous, 'REMOTE_LOGIN');
      const session = await this.open(uid, connection);
      this.observer.tokenPresented(session, expiresAt);
      // Whatever waited in the inbox (offline messages, unacknowledged ones) follows the grant.
      return { data: await this.grant(session, false), replay: await this.peers.replay(uid, 0) };
    });
  }

  resume(connection: Connection, frame: ClientFrameOf<'resume'>): Promise<Granted | Kicked> {
    const { uid, sessionId } = frame;
    return this.lock.run(uid, async (): Promise<Granted | Kicked> => {
      // Checked like a login; a failure leaves the session as it is (the client renews the token).
      const expiresAt = this.checkToken(uid, frame.token);
      if (await this.ctx.store.isBanned(uid)) return { kick: 'BANNED_BY_SERVER' };
      if (connection.closed) throw new RtmError(RtmErrorCode.LOGGED_OUT, 'socket closed');
      let live = this.ctx.sessions.get(uid);
      // Its presence ran out a moment ago and the end waits for this lock: carry it out first,
      // so that the resume is answered as after an expiry, not as a login elsewhere.
      if (live?.ended) {
        await this.finishOnce(live, live.endReason!);
        live = this.ctx.sessions.get(uid);
      }
      if (live && live.sessionId === sessionId && (await this.ctx.store.getSession(uid)) === undefined) {
        // A shared store that lost it (Redis emptied: a new epoch): end it here too, so that the
        // resume below opens a fresh session in the new history and the channels are rejoined.
        await this.finishOnce(live, 'PRESENCE_EXPIRED');
        live = this.ctx.sessions.get(uid);
      }
      if (!live) live = await this.adopt(uid, sessionId, connection);
      if (live && live.sessionId === sessionId) {
        this.observer.online(live);
        this.attach(live, connection);
        live.resumed();
        if (this.ctx.bus.spansNodes) this.markAway(live, false);
        this.observer.tokenPresented(live, expiresAt);
        const channels = await this.channels.replay(uid, frame.channels);
        const replay = mergeReplays(await this.peers.replay(uid, frame.peerSeq), channels);
        this.ctx.logger.log('info', 'session.resumed', { uid, sessionId });
        return { data: { ...(await this.grant(live, false)), recovery: { channels: channels.recovery } }, replay };
      }
      const endReason = (await this.ctx.store.getEndedSession(uid, sessionId))?.reason;
      if (endReason === 'REMOTE_LOGIN') return { kick: 'REMOTE_LOGIN' };
      if (endReason === 'BANNED_BY_SERVER') return { kick: 'BANNED_BY_SERVER' };
      if (endReason === 'LOGOUT') throw new RtmError(RtmErrorCode.SESSION_EXPIRED, 'the session was logged out');
      // Another session of this uid is live: the named one was replaced by a login elsewhere.
      if (live || (await this.ctx.store.getSession(uid))) return { kick: 'REMOTE_LOGIN' };
      if (endReason !== 'PRESENCE_EXPIRED' && !(await this.ctx.store.isLoggedIn(uid))) {
        throw new RtmError(RtmErrorCode.SESSION_EXPIRED, 'unknown session');
      }
      // Presence expired but never logged out: a fresh session, the inbox kept (R4.4, R5.1).
      const session = await this.open(uid, connection);
      this.observer.tokenPresented(session, expiresAt);
      this.ctx.logger.log('info', 'session.renewed', { uid, previous: sessionId, sessionId: session.sessionId });
      return { data: await this.grant(session, true), replay: await this.peers.replay(uid, frame.peerSeq) };
    });
  }

  /** Ends the session at once (R7.1); the caller answers and closes the socket. */
  logout(session: LocalSession): Promise<void> {
    return this.lock.run(session.uid, () => this.endUnderLock(session, 'LOGOUT'));
  }

  /** R6.2: the live session (if any) is kicked, and later logins get REJECTED. */
  ban(uid: string): Promise<void> {
    return this.lock.run(uid, async () => {
      await this.ctx.store.ban(uid);
      const live = this.ctx.sessions.get(uid);
      if (live) await this.endUnderLock(live, 'BANNED_BY_SERVER');
      else {
        // Held by another node (or by none, its node gone): ended here, kicked there (R12.3).
        const record = await this.ctx.store.getSession(uid);
        if (record) await this.endElsewhere(record, 'BANNED_BY_SERVER', true);
      }
      this.ctx.logger.log('info', 'user.banned', { uid });
    });
  }

  /** Lifts a ban; behind the uid's lock, so it lands after a ban called before it. */
  unban(uid: string): Promise<void> {
    return this.lock.run(uid, async () => {
      await this.ctx.store.unban(uid);
      this.ctx.logger.log('info', 'user.unbanned', { uid });
    });
  }

  /** The socket closed or stopped answering: the session goes away and its presence timer runs (R4.1). */
  linkLost(connection: Connection): void {
    const session = connection.session;
    connection.session = null;
    if (!session || session.connection !== connection) return;
    session.connection = null;
    session.linkLost();
    if (!session.ended) {
      this.observer.away(session);
      // The store knows since when, so that a sweeper can end it if this node dies (R12.2).
      if (this.ctx.bus.spansNodes) this.markAway(session, true);
    }
    this.ctx.logger.log('info', 'session.away', { uid: session.uid, sessionId: session.sessionId });
  }

  /**
   * A session actor reached its final state (the SessionHost passes its output on). Logout,
   * remote login and ban end it from inside this uid's lock; the presence timer fires on its
   * own, so that end takes the lock, and a racing resume sees a settled state.
   */
  sessionEnded({ uid, sessionId, reason }: SessionOutput): void {
    const session = this.ctx.sessions.get(uid);
    if (!session || session.sessionId !== sessionId || session.ended) {
      this.ctx.logger.log('error', 'session.end_unknown', { uid, sessionId, reason });
      return;
    }
    session.endReason = reason;
    void (reason === 'PRESENCE_EXPIRED' ? this.lock.run(uid, () => this.finishOnce(session, reason)) : this.finishOnce(session, reason));
  }

  /**
   * Ends a session from inside its uid's lock. One whose presence already ran out is finished
   * here rather than awaited: its own end is queued behind the lock this caller holds.
   */
  private async endUnderLock(session: LocalSession, reason: Exclude<SessionEndReason, 'PRESENCE_EXPIRED'>): Promise<void> {
    if (session.ended) return this.finishOnce(session, session.endReason!);
    return session.end(reason);
  }

  /** Carries out the end once, whoever asks first (the presence timer, a login, a resume). */
  private finishOnce(session: LocalSession, reason: SessionEndReason): Promise<void> {
    return (session.finishing ??= this.finish(session, reason));
  }

  /** renewToken while connected (14.2): the token is checked like a login's; its expiry replaces the old one's. */
  renewToken(session: LocalSession, token: string): void {
    this.observer.tokenPresented(session, this.checkToken(session.uid, token));
  }

  /**
   * When the token expires (ms); null for a login without one, which only a server with
   * `allowAnonymousLogin` accepts (14.2).
   */
  private checkToken(uid: string, token: string | undefined): number | null {
    if (token === undefined) {
      if (this.ctx.config.allowAnonymousLogin) return null;
      this.ctx.logger.log('info', 'token.rejected', { uid, code: RtmErrorCode.INVALID_TOKEN });
      throw new RtmError(RtmErrorCode.INVALID_TOKEN, 'this server needs a token to log in');
    }
    const check = verifyToken(this.ctx.config.secret, token, uid);
    if (!check.ok) {
      this.ctx.logger.log('info', 'token.rejected', { uid, code: check.code });
      throw new RtmError(check.code, check.message);
    }
    return check.expiresAt;
  }

  private async open(uid: string, connection: Connection): Promise<LocalSession> {
    const session = new LocalSession(uid, randomUUID(), {
      host: this.ctx.sessionHost,
      timing: this.ctx.config.timing,
    });
    this.ctx.sessions.set(uid, session);
    this.observer.online(session);
    this.attach(session, connection);
    const { nodeId } = this.ctx.bus;
    const put = await this.ctx.store.putSession({ uid, sessionId: session.sessionId, startedAt: Date.now(), ...(nodeId ? { node: nodeId } : {}) });
    session.generation = put.generation;
    // A session of this uid that another node holds (or held): this login replaced it, so this
    // node ends it (R6.1 across nodes). The store named it to this caller alone.
    if (put.replaced) await this.endElsewhere(put.replaced, 'REMOTE_LOGIN', false);
    await this.ctx.store.setLoggedIn(uid, true);
    this.ctx.logger.log('info', 'session.started', { uid, sessionId: session.sessionId });
    return session;
  }

  /**
   * A session a shared store keeps but this node does not hold (its node died or was restarted,
   * or the client left it for this one): this node claims it (the store bumps its generation,
   * so the node that held it can no longer end it) and takes it over, channels and all; the node
   * that held it, if alive, lets it go.
   */
  private async adopt(uid: string, sessionId: string, connection: Connection): Promise<LocalSession | undefined> {
    const claim = await this.ctx.store.claimSession(uid, sessionId, this.ctx.bus.nodeId ?? '');
    if (!claim) return undefined;
    const session = new LocalSession(uid, sessionId, {
      host: this.ctx.sessionHost,
      timing: this.ctx.config.timing,
    });
    session.generation = claim.generation;
    this.ctx.sessions.set(uid, session);
    this.attach(session, connection);
    await this.channels.adopt(session);
    const { previousNode } = claim;
    if (previousNode && previousNode !== this.ctx.bus.nodeId) {
      await this.ctx.bus.control(previousNode, { t: 'claimed', uid, sessionId });
    }
    this.ctx.logger.log('info', 'session.adopted', { uid, sessionId, from: previousNode });
    return session;
  }

  private markAway(session: LocalSession, away: boolean): void {
    this.ctx.store.markAway(session.uid, session.sessionId, session.generation, away).catch((error: unknown) => {
      this.ctx.logger.log('warn', 'session.mark_away_failed', { uid: session.uid, error: String(error) });
    });
  }

  /**
   * The sweeper (this node holds its lease) found a session of a dead node past its presence
   * window: it ends here if the store still has it at that generation (nobody resumed it), and
   * then only here are its MemberLeft events announced (R12.2).
   */
  expireOrphan({ uid, sessionId, generation }: OrphanedSession): Promise<void> {
    return this.lock.run(uid, async () => {
      const ended = await this.ctx.store.endSession(uid, sessionId, { uid, reason: 'PRESENCE_EXPIRED', endedAt: Date.now() }, generation);
      if (!ended) return;
      await this.channels.leaveAll(uid);
      await this.ctx.store.deleteAttributes(uid);
      this.ctx.logger.log('info', 'session.swept', { uid, sessionId });
    });
  }

  /**
   * This node lost the shared store (fenced): every session it holds goes from here without a
   * store write and without waiting for the store; the store keeps them, and whichever node
   * the client resumes on claims them.
   */
  releaseAll(): void {
    for (const session of [...this.ctx.sessions.values()]) {
      if (session.ended) continue;
      session.fencedBy = 'fence';
      void session.end('REMOTE_LOGIN');
    }
  }

  /**
   * Ends a session this node does not hold: the store's part (why it ended, its channels with
   * MemberLeft, its attributes; for a ban its inbox too) is done here, and the node holding it
   * is told to kick its socket. `removeLive`: the session is still the live one (a ban), so the
   * store must end it, and only the caller it answers does the rest.
   */
  private async endElsewhere(record: SessionRecord, reason: 'REMOTE_LOGIN' | 'BANNED_BY_SERVER', removeLive: boolean): Promise<void> {
    const { uid, sessionId, node } = record;
    const ended = await this.ctx.store.endSession(uid, sessionId, { uid, reason, endedAt: Date.now() });
    if (removeLive && !ended) return;
    await this.channels.leaveAll(uid);
    await this.ctx.store.deleteAttributes(uid);
    if (reason === 'BANNED_BY_SERVER') {
      await this.ctx.store.setLoggedIn(uid, false);
      await this.ctx.store.clearInbox(uid);
    }
    if (node && node !== this.ctx.bus.nodeId) await this.ctx.bus.control(node, { t: 'kick', uid, sessionId, reason });
    this.ctx.logger.log('info', 'session.ended_elsewhere', { uid, sessionId, reason, node });
  }

  /**
   * Another node ended (kick) or took over (claimed) a session this node holds: it goes here
   * without a store write. A kick tells the socket why; a claimed one's socket (if the client
   * left one behind) is just closed.
   */
  released(message: ControlMessage): Promise<void> {
    const { uid, sessionId } = message;
    return this.lock.run(uid, async () => {
      const session = this.ctx.sessions.get(uid);
      if (!session || session.sessionId !== sessionId || session.ended) return;
      session.fencedBy = message.t === 'kick' ? 'kick' : 'claim';
      this.ctx.logger.log('info', 'session.released', { uid, sessionId, why: message.t });
      await session.end(message.t === 'kick' ? message.reason : 'REMOTE_LOGIN');
    });
  }

  private attach(session: LocalSession, connection: Connection): void {
    const previous = session.connection;
    if (previous && previous !== connection) {
      // A half-open socket of the same client that the resume overtook.
      previous.session = null;
      previous.close(CloseCode.NORMAL, 'replaced by a resume');
    }
    session.connection = connection;
    connection.session = session;
    // The socket may have closed while this login or resume waited for the store.
    if (connection.closed) this.linkLost(connection);
  }

  private async grant(session: LocalSession, sessionExpired: boolean): Promise<SessionGrant> {
    const { heartbeat } = this.ctx.config;
    // Both asked at once (one round trip to a shared store); the epoch each time, because a
    // shared store that came back empty (Redis flushed) is a new history.
    const [inboxDropped, epoch] = await Promise.all([this.ctx.store.inboxDropCount(session.uid), this.ctx.store.epoch()]);
    return {
      inboxDropped,
      sessionId: session.sessionId,
      sessionExpired,
      heartbeatIntervalMs: heartbeat.intervalMs,
      heartbeatTimeoutMs: heartbeat.timeoutMs,
      serverTime: Date.now(),
      epoch,
      sendRatePerSecond: this.ctx.config.limits.rateLimitPerSecond,
    };
  }

  /**
   * Carries out the end of a session: the kicked socket is told why, the user leaves the
   * online list and every channel (members get MemberLeft), its attributes are dropped, and a
   * logout or ban also empties its inbox.
   */
  private async finish(session: LocalSession, reason: SessionEndReason): Promise<void> {
    const { uid, sessionId } = session;
    try {
      if (this.ctx.sessions.get(uid) === session) this.ctx.sessions.delete(uid);
      this.observer.ended(session, reason);
      const connection = session.connection;
      session.connection = null;
      if (connection) {
        connection.session = null;
        if (session.fencedBy === 'claim') connection.close(CloseCode.NORMAL, 'resumed elsewhere');
        else if (session.fencedBy === 'fence') connection.close(CloseCode.SERVER_SHUTDOWN, 'lost the shared store');
        else if (reason === 'REMOTE_LOGIN' || reason === 'BANNED_BY_SERVER') {
          // After the answer to a login or resume still being written on this socket (R6.1
          // across nodes: a kick from another node can arrive while this node answers).
          connection.afterAnswer(() => {
            connection.sendFrame({ t: 'kick', reason });
            connection.close(CloseCode.KICKED, reason);
          });
        }
      }
      // Only the node the store answers "ended" carries out the rest: one whose session another
      // node ended or took over (fenced, or a stale generation) just lets it go here.
      const ended =
        session.fencedBy === null && (await this.ctx.store.endSession(uid, sessionId, { uid, reason, endedAt: Date.now() }, session.generation));
      if (ended) {
        await this.channels.leaveAll(uid, session);
        await this.ctx.store.deleteAttributes(uid);
        if (reason === 'LOGOUT' || reason === 'BANNED_BY_SERVER') {
          await this.ctx.store.setLoggedIn(uid, false);
          await this.ctx.store.clearInbox(uid);
        }
      }
      this.channels.forgetLocal(session);
      this.ctx.logger.log('info', 'session.ended', { uid, sessionId, reason, ...(ended ? {} : { fenced: true }) });
    } catch (error) {
      this.ctx.logger.log('error', 'session.end_failed', { uid, sessionId, error: String(error) });
    } finally {
      session.markFinished();
    }
  }
}

