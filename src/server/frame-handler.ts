/**
 * The socket side, kept thin: decode each frame, check who may do what, call a service, encode
 * the answer. Requests from one socket run one at a time, in order; pings are answered at once.
 *
 * Every request kind has a budget (R8, issue 12): sends, membership changes (join, leave) and
 * everything else (members, presence, attributes, counts, subscriptions, token renewal) per user, each a token bucket owned by the uid (see
 * SessionHost), so logging in again does not refill it; login and resume per socket. Over a
 * budget the request gets TOO_OFTEN and nothing else happens.
 */
import { performance } from 'node:perf_hooks';
import type { RawData } from 'ws';
import { RtmError, RtmErrorCode, isRtmError } from '../errors.js';
import {
  ClientFrame,
  CloseCode,
  MAX_FRAME_BYTES,
  clientFrameParser,
  encodeFrame,
  splitFrames,
} from '../protocol/index.js';
import type { AttributeService } from './attribute-service.js';
import type { ChannelService } from './channel-service.js';
import { MAX_PENDING_REQUESTS, type Connection, type Replay } from './connection.js';
import type { ServerContext } from './context.js';
import type { LocalSession } from './local-session.js';
import type { MemberCounts } from './member-counts.js';
import type { RequestKind } from './rate-limit.js';
import type { PeerService } from './peer-service.js';
import type { PresenceSubscriptions } from './presence-subscriptions.js';
import type { Kicked, SessionService } from './session-service.js';
import type { UserService } from './user-service.js';

const PONG = Buffer.from(encodeFrame({ t: 'pong' }));
const PING_TEXT = encodeFrame({ t: 'ping' });
const CLIENT_FRAME = clientFrameParser();
const REQUEST_TYPES: ReadonlySet<string> = new Set(
  ClientFrame.def.options.flatMap((option) => option.shape.t.def.values).filter((t) => t !== 'ping' && t !== 'peer.ack'),
);
/** A request whose envelope is right but one of these fields is wrong gets an error answer, not a close. */
const ARGUMENT_FIELDS: ReadonlySet<string> = new Set(['uid', 'to', 'channel', 'uids', 'attrs', 'msgId', 'lastSeq', 'keys', 'channels']);

type Outcome = { data?: unknown; replay?: Replay } | Kicked;

/**
 * login and resume requests one socket may make. A client makes one per socket (it dials a new
 * socket after a failure), so more is a script trying tokens or uids.
 */
export const MAX_LOGIN_ATTEMPTS_PER_SOCKET = 5;

/** How long a ping waits for another frame to answer it before it gets a pong of its own. */
export function pongDelayMs(heartbeatIntervalMs: number): number {
  return Math.min(250, Math.floor(heartbeatIntervalMs / 4));
}

export interface Services {
  sessions: SessionService;
  peers: PeerService;
  channels: ChannelService;
  users: UserService;
  /** Agora RTM 1.x compatibility (14.2). */
  attributes: AttributeService;
  memberCounts: MemberCounts;
  presence: PresenceSubscriptions;
}

export class FrameHandler {
  constructor(
    private readonly ctx: ServerContext,
    private readonly services: Services,
  ) {}

  /** Sockets owed a pong, paid together once the pong delay has passed. */
  private pongDebtors: Connection[] = [];
  private pongTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * A ping is answered within `pongDelayMs` (a quarter of the heartbeat interval, at most
   * 250 ms) by the next frame written to that socket, whatever it is: the client counts any
   * frame as a sign of life. Only a socket that got nothing else in that time gets a pong.
   * The client hears from the server after each of its pings as it would with an immediate
   * pong, only up to `pongDelayMs` later, far inside its timeout; a busy socket (a channel
   * with traffic) is spared a write per ping.
   */
  private answerPing(connection: Connection): void {
    if (connection.pongOwed) return;
    connection.pongOwed = true;
    this.pongDebtors.push(connection);
    this.pongTimer ??= setTimeout(this.payPongs, pongDelayMs(this.ctx.config.heartbeat.intervalMs));
  }

  private readonly payPongs = (): void => {
    const debtors = this.pongDebtors;
    this.pongDebtors = [];
    this.pongTimer = null;
    for (const connection of debtors) {
      if (connection.pongOwed && !connection.closed) connection.sendEncoded(PONG);
    }
  };

  /** Server shutdown: no pong is paid after it. */
  stop(): void {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
    this.pongDebtors = [];
  }

  onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    connection.lastSeen = performance.now();
    if (isBinary) return this.protocolError(connection, 'binary frames are not part of the protocol');
    const message = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(toBuffers(data)).toString('utf8');
    for (const raw of splitFrames(message)) {
      if (connection.closed) return;
      if (raw === PING_TEXT) {
        this.answerPing(connection);
        continue;
      }
      if (raw.length > MAX_FRAME_BYTES || (raw.length * 3 > MAX_FRAME_BYTES && Buffer.byteLength(raw) > MAX_FRAME_BYTES)) {
        return this.protocolError(connection, `frame larger than ${MAX_FRAME_BYTES} bytes`, CloseCode.TOO_LARGE);
      }
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        return this.protocolError(connection, 'frame is not JSON');
      }
      const parsed = CLIENT_FRAME.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = typeof issue?.path[0] === 'string' ? issue.path[0] : '';
        const id = requestIdOf(value);
        if (id === null) return this.protocolError(connection, `invalid frame: ${issue?.message ?? 'unknown'} at ${field}`);
        const code = invalidFieldCode(field);
        if (code === null) return this.protocolError(connection, `invalid ${String((value as { t: unknown }).t)} frame at ${field}`);
        connection.sendFrame({ t: 'res', id, ok: false, code, message: `invalid ${field}: ${issue?.message ?? ''}` });
        continue;
      }
      const frame = parsed.data;
      if (frame.t === 'ping') {
        this.answerPing(connection);
        continue;
      }
      if (connection.pending.push(frame) > MAX_PENDING_REQUESTS) {
        return this.protocolError(connection, 'too many requests waiting');
      }
      if (!connection.busy) void this.pump(connection);
    }
  }

  private async pump(connection: Connection): Promise<void> {
    connection.busy = true;
    try {
      let frame: ClientFrame | undefined;
      while (!connection.closed && (frame = connection.pending.shift())) await this.handle(connection, frame);
    } finally {
      connection.busy = false;
      connection.pending.length = 0;
    }
  }

  private async handle(connection: Connection, frame: ClientFrame): Promise<void> {
    if (frame.t === 'peer.ack') {
      if (!connection.session) return this.protocolError(connection, 'peer.ack before login');
      // Clamped to what this socket was given: an ack past it would drop undelivered messages.
      const seq = Math.min(frame.seq, connection.peerSeqSent);
      await this.services.peers.ack(connection.session.uid, seq).catch((error: unknown) => void this.internal(error));
      return;
    }
    if (frame.t === 'ping') return;
    const holds = frame.t === 'login' || frame.t === 'resume' || frame.t === 'channel.join';
    if (holds) connection.hold();
    let replay: Replay | undefined;
    try {
      const outcome = await this.dispatch(connection, frame);
      if ('kick' in outcome) {
        connection.sendFrame({ t: 'kick', reason: outcome.kick });
        connection.close(CloseCode.KICKED, outcome.kick);
        return;
      }
      replay = outcome.replay;
      connection.sendFrame(
        outcome.data === undefined ? { t: 'res', id: frame.id, ok: true } : { t: 'res', id: frame.id, ok: true, data: outcome.data },
      );
      if (frame.t === 'logout') connection.close(CloseCode.LOGGED_OUT, 'logged out');
    } catch (error) {
      const rtm = isRtmError(error) ? error : this.internal(error);
      connection.sendFrame({ t: 'res', id: frame.id, ok: false, code: rtm.code, message: rtm.message });
    } finally {
      if (holds) connection.release(replay);
    }
  }

  private async dispatch(connection: Connection, frame: Exclude<ClientFrame, { t: 'ping' | 'peer.ack' }>): Promise<Outcome> {
    const { sessions, peers, channels, users } = this.services;
    switch (frame.t) {
      case 'login':
        this.checkLoginAttempt(connection);
        return sessions.login(connection, frame);
      case 'resume':
        this.checkLoginAttempt(connection);
        return sessions.resume(connection, frame);
      case 'logout':
        await sessions.logout(this.sessionOf(connection));
        return {};
      case 'peer.send':
        return { data: await peers.send(this.sessionOf(connection), frame) };
      case 'channel.join':
        return channels.join(this.budgeted(connection, 'membership'), frame);
      case 'channel.leave':
        await channels.leave(this.budgeted(connection, 'membership'), frame.channel);
        return {};
      case 'channel.send':
        await channels.send(this.sessionOf(connection), frame);
        return {};
      case 'channel.members':
        return { data: await channels.members(this.budgeted(connection, 'query'), frame.channel) };
      case 'presence.query':
        this.budgeted(connection, 'query');
        return { data: await users.presence(frame) };
      case 'attrs.set':
        await users.setAttributes(this.budgeted(connection, 'query'), frame);
        return {};
      case 'attrs.get':
        this.budgeted(connection, 'query');
        return { data: await users.getAttributes(frame) };
      default:
        return this.dispatchAgora(connection, frame);
    }
  }

  /** The requests of the Agora RTM 1.x compatibility layer (14.2), through the same path as every request. */
  private async dispatchAgora(
    connection: Connection,
    frame: Exclude<ClientFrame, { t: 'ping' | 'peer.ack' | CoreRequest }>,
  ): Promise<Outcome> {
    const { sessions, attributes, memberCounts, presence } = this.services;
    // Attributes, member counts, presence subscriptions and token renewals share the query budget.
    const session = this.budgeted(connection, 'query');
    switch (frame.t) {
      case 'attrs.update':
        await attributes.updateUserAttributes(session, frame);
        return {};
      case 'attrs.delete':
        await attributes.deleteUserAttributes(session, frame);
        return {};
      case 'attrs.getKeys':
        return { data: await attributes.getUserAttributesByKeys(frame) };
      case 'channel.attrs.set':
      case 'channel.attrs.update':
      case 'channel.attrs.delete':
      case 'channel.attrs.clear':
        await attributes.changeChannel(session, frame);
        return {};
      case 'channel.attrs.get':
        return { data: await attributes.getChannel(frame) };
      case 'channel.counts':
        return { data: await memberCounts.query(frame) };
      case 'presence.subscribe':
        return { data: await presence.subscribe(session, frame) };
      case 'presence.unsubscribe':
        presence.unsubscribe(session, frame);
        return {};
      case 'token.renew':
        sessions.renewToken(session, frame.token);
        return {};
    }
  }

  private sessionOf(connection: Connection): LocalSession {
    if (!connection.session) throw new RtmError(RtmErrorCode.NOT_LOGGED_IN, 'log in first');
    return connection.session;
  }

  /** The session, once the request has been taken from its user's budget for `kind`. */
  private budgeted(connection: Connection, kind: Exclude<RequestKind, 'send'>): LocalSession {
    const session = this.sessionOf(connection);
    if (!session.limits.take(kind)) throw new RtmError(RtmErrorCode.TOO_OFTEN, `too many ${KIND_NAMES[kind]} requests`);
    return session;
  }

  private checkLoginAttempt(connection: Connection): void {
    if (connection.session) throw new RtmError(RtmErrorCode.ALREADY_LOGIN, 'this socket is already logged in');
    if (++connection.loginAttempts > MAX_LOGIN_ATTEMPTS_PER_SOCKET) {
      throw new RtmError(RtmErrorCode.TOO_OFTEN, `at most ${MAX_LOGIN_ATTEMPTS_PER_SOCKET} login or resume requests per socket`);
    }
  }

  private protocolError(connection: Connection, message: string, closeCode: number = CloseCode.PROTOCOL_ERROR): void {
    this.ctx.logger.log('warn', 'protocol.error', { connection: connection.id, uid: connection.session?.uid, message });
    connection.sendFrame({ t: 'error', code: RtmErrorCode.PROTOCOL_ERROR, message });
    connection.close(closeCode, 'protocol error');
  }

  private internal(error: unknown): RtmError {
    this.ctx.logger.log('error', 'internal.error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    return new RtmError(RtmErrorCode.INTERNAL, 'internal server error');
  }
}

/** The requests `dispatch` handles itself. */
type CoreRequest =
  | 'login'
  | 'resume'
  | 'logout'
  | 'peer.send'
  | 'channel.join'
  | 'channel.leave'
  | 'channel.send'
  | 'channel.members'
  | 'presence.query'
  | 'attrs.set'
  | 'attrs.get';
const KIND_NAMES: Record<Exclude<RequestKind, 'send'>, string> = {
  membership: 'channel.join / channel.leave',
  query: 'query, attribute, subscription or token',
};

function toBuffers(data: RawData): Buffer[] {
  if (Array.isArray(data)) return data;
  return [Buffer.from(data as ArrayBuffer)];
}

function requestIdOf(value: unknown): number | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { t, id } = value as { t?: unknown; id?: unknown };
  if (typeof t !== 'string' || !REQUEST_TYPES.has(t)) return null;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : null;
}

function invalidFieldCode(field: string): RtmErrorCode | null {
  if (field === 'text' || field === 'raw') return RtmErrorCode.INVALID_MESSAGE;
  if (field === 'token') return RtmErrorCode.INVALID_TOKEN;
  return ARGUMENT_FIELDS.has(field) ? RtmErrorCode.INVALID_ARGUMENT : null;
}
