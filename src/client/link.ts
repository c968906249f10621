/**
 * The link: one logical connection to the server for the life of a login, made of as many
 * WebSockets as it takes. It dials, logs in (first time) or resumes (afterwards), runs the
 * heartbeat, notices a lost or black-holed socket and re-dials, and reports what happened as
 * the connection machine's link events. It never decides a connection state itself.
 */
import type { LinkEvent } from '../../machines/connection.machine.js';
import type { Timing } from '../../machines/timing.js';
import { RtmErrorCode } from '../errors.js';
import { PROTOCOL_VERSION, SessionGrant, type ClientFrame, type ServerFrame } from '../protocol/index.js';
import { redialPolicy, type RedialPolicy } from './backoff.js';
import { FrameSocket, resolveWebSocket, type EncodedFrame, type WebSocketConstructor } from './socket.js';

const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/** The request id the link uses for its own login / resume / logout; the outbox counts from 1. */
export const LINK_REQUEST_ID = 0;

export interface ResumePoint {
  peerSeq: number;
  channels: Array<{ channel: string; seq: number }>;
}

export interface LinkHooks {
  /** Where a resume starts: the last sequences seen (R5.2, R5.3). */
  resumePoint(): ResumePoint;
  /**
   * A login or resume succeeded; called before the machine hears LINK_UP. `fresh` for the first
   * login of this link; `sessionExpired` when the server no longer had the session (R4.4).
   */
  onGranted(grant: SessionGrant, how: { fresh: boolean; sessionExpired: boolean }): void;
  /** The machine has heard LINK_UP (and restored the session if needed): time to flush queued requests. */
  onReady(): void;
  /** The socket that was up is gone; `closeCode` is the WebSocket's (1009: a message was too large). */
  onLost(closeCode: number): void;
  /** Every frame for the application layer (responses, messages, member changes). */
  onFrame(frame: ServerFrame): void;
  /** Link events for the connection machine (`sendBack`). */
  report(event: LinkEvent): void;
}

export interface LinkOptions {
  url: string;
  uid: string;
  token: string;
  timing: Timing;
  WebSocket?: WebSocketConstructor;
  policy?: RedialPolicy;
}

type Phase =
  | 'dialing' // socket opening
  | 'authenticating' // login or resume sent
  | 'up' // granted; heartbeat running
  | 'waiting' // between attempts
  | 'refused' // login refused: the machine will stop us
  | 'stopped';

export class Link {
  private phase: Phase = 'waiting';
  private socket: FrameSocket | null = null;
  private token: string;
  /** Set by the first grant; a link with a session resumes instead of logging in. */
  private sessionId: string | null = null;
  /** The server forgot the session without a logout: log in afresh and restore (R4.4). */
  private mustRestore = false;
  private failures = 0;
  /** When the link last went down; null while logging in for the first time. */
  private lostAt: number | null = null;
  /** The token the current attempt presented (a refusal of an old token says nothing about a renewed one). */
  private attemptToken = '';
  /** When the server was last heard from; during an attempt, when it last made progress (dial, open, a frame). */
  private lastHeard = 0;
  /** Counts dials, so that a check scheduled for one attempt never judges the next. */
  private attempt = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly policy: RedialPolicy;

  constructor(
    private readonly options: LinkOptions,
    private readonly hooks: LinkHooks,
  ) {
    this.token = options.token;
    this.policy = options.policy ?? redialPolicy(options.timing);
  }

  start(): void {
    void this.dial();
  }

  renewToken(token: string): void {
    this.token = token;
  }

  /** The token for a login or resume; none for an anonymous login (empty token, 14.2). */
  private tokenField(): { token?: string } {
    return this.token === '' ? {} : { token: this.token };
  }

  get isUp(): boolean {
    return this.phase === 'up';
  }

  /** Sends a frame if the link is up; false otherwise (the caller keeps it queued). */
  transmit(frame: ClientFrame | EncodedFrame): boolean {
    return this.phase === 'up' && this.socket !== null && this.socket.send(frame);
  }

  /** Logout or abort: say goodbye if logged in, close, stop every timer, never re-dial. */
  stop(): void {
    const wasUp = this.phase === 'up';
    // Kicked, or refused for good: the server has nothing to be told.
    const serverEndedIt = this.phase === 'stopped' || this.phase === 'refused';
    this.phase = 'stopped';
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (wasUp && socket) socket.send({ t: 'logout', id: LINK_REQUEST_ID });
    socket?.close(1000);
    // Logged out while the link was down: one bounded, best-effort attempt to tell the server,
    // so that it ends the session now rather than at the end of the presence window (R7.1).
    if (!wasUp && !serverEndedIt && this.sessionId !== null) void this.farewell(this.sessionId);
  }

  private async farewell(sessionId: string): Promise<void> {
    let ctor: WebSocketConstructor;
    try {
      ctor = await resolveWebSocket(this.options.WebSocket);
    } catch {
      return;
    }
    const { peerSeq } = this.hooks.resumePoint();
    let socket: FrameSocket | null = null;
    const timer = setTimeout(() => socket?.close(1000), this.policy.attemptTimeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket?.close(1000);
    };
    try {
      socket = FrameSocket.open(ctor, this.options.url, {
        onOpen: () => {
          const { uid } = this.options;
          socket?.send({ t: 'resume', id: LINK_REQUEST_ID, v: PROTOCOL_VERSION, uid, sessionId, ...this.tokenField(), peerSeq, channels: [] });
          socket?.send({ t: 'logout', id: LINK_REQUEST_ID + 1 });
        },
        onFrame: (frame) => {
          if (frame.t === 'res' && frame.id === LINK_REQUEST_ID + 1) done();
        },
        onClose: () => clearTimeout(timer),
      });
    } catch {
      clearTimeout(timer);
    }
  }

  /** Ends the link without a logout frame (after a kick); `stop()` afterwards says no goodbye. */
  private halt(): void {
    this.phase = 'stopped';
    this.clearTimers();
    this.socket?.close(1000);
    this.socket = null;
  }

  private async dial(): Promise<void> {
    this.phase = 'dialing';
    let ctor: WebSocketConstructor;
    try {
      ctor = await resolveWebSocket(this.options.WebSocket);
    } catch {
      return this.attemptFailed();
    }
    if (this.phase !== 'dialing') return;
    this.attempt++;
    this.lastHeard = Date.now();
    this.watchAttempt(this.policy.attemptTimeoutMs);
    try {
      this.socket = FrameSocket.open(ctor, this.options.url, {
        onOpen: () => this.authenticate(),
        onFrame: (frame) => this.receive(frame),
        onClose: (code) => this.socketClosed(code),
      });
    } catch {
      this.attemptFailed();
    }
  }

  private authenticate(): void {
    if (this.phase !== 'dialing' || !this.socket) return;
    this.phase = 'authenticating';
    // The WebSocket handshake is done: progress. The login or resume gets a full attempt timeout.
    this.lastHeard = Date.now();
    const { uid } = this.options;
    this.attemptToken = this.token;
    if (this.sessionId === null || this.mustRestore) {
      this.socket.send({ t: 'login', id: LINK_REQUEST_ID, v: PROTOCOL_VERSION, uid, ...this.tokenField() });
    } else {
      const { peerSeq, channels } = this.hooks.resumePoint();
      this.socket.send({
        t: 'resume',
        id: LINK_REQUEST_ID,
        v: PROTOCOL_VERSION,
        uid,
        sessionId: this.sessionId,
        ...this.tokenField(),
        peerSeq,
        channels,
      });
    }
  }

  private receive(frame: ServerFrame): void {
    this.lastHeard = Date.now();
    if (this.phase === 'authenticating' && frame.t === 'res' && frame.id === LINK_REQUEST_ID) {
      return frame.ok ? this.granted(frame.data) : this.refused(frame.code);
    }
    switch (frame.t) {
      case 'pong':
        return;
      case 'kick':
        this.halt();
        return this.hooks.report({ type: 'KICKED', reason: frame.reason });
      case 'error':
        return; // the server closes the socket next; the close is what counts
      default:
        if (this.phase === 'up') this.hooks.onFrame(frame);
    }
  }

  private granted(data: unknown): void {
    const parsed = SessionGrant.safeParse(data);
    if (!parsed.success) return this.dropSocket();
    const grant = parsed.data;
    const fresh = this.sessionId === null;
    const sessionExpired = !fresh && (this.mustRestore || grant.sessionExpired);
    this.clearTimers();
    this.sessionId = grant.sessionId;
    this.mustRestore = false;
    this.failures = 0;
    this.phase = 'up';
    this.startHeartbeat(grant);
    this.hooks.onGranted(grant, { fresh, sessionExpired });
    this.hooks.report({ type: 'LINK_UP', sessionExpired });
    if (this.phase === 'up') this.hooks.onReady();
  }

  private refused(code: string): void {
    const firstLogin = this.sessionId === null;
    // R1.3: the machine goes DISCONNECTED and stops the link.
    if (firstLogin) return this.endRefused(code);
    if (code === RtmErrorCode.TOKEN_EXPIRED) {
      // R3.6: the session lives on; keep trying, the app may renew the token. A refusal of the
      // token the app has just replaced is old news: retry at once with the new one.
      if (this.attemptToken === this.token) this.hooks.report({ type: 'TOKEN_EXPIRED' });
      else this.failures = 0;
    } else if (code === RtmErrorCode.SESSION_EXPIRED) {
      // The server no longer knows the session though we never logged out: log in afresh.
      this.mustRestore = true;
      this.failures = 0;
    } else if (code === RtmErrorCode.REJECTED) {
      this.halt();
      return this.hooks.report({ type: 'KICKED', reason: 'BANNED_BY_SERVER' });
    } else if (code === RtmErrorCode.INVALID_TOKEN || code === RtmErrorCode.INVALID_ARGUMENT) {
      // The token will never be accepted (a server with another secret, a renewal with a bad
      // token): retrying cannot succeed, so the login ends with the server's reason rather than
      // re-dialling unseen forever. The machine goes DISCONNECTED / LOGIN_FAILURE. A refusal of
      // a token the app has just replaced says nothing about the new one: retry with it.
      if (this.attemptToken === this.token) return this.endRefused(code);
      this.failures = 0;
    }
    this.dropSocket();
  }

  private endRefused(code: string): void {
    this.phase = 'refused';
    this.clearTimers();
    this.socket?.close(1000);
    this.socket = null;
    this.hooks.report({ type: 'LOGIN_REJECTED', code });
  }

  private startHeartbeat(grant: SessionGrant): void {
    this.lastHeard = Date.now();
    const check = () => {
      if (this.phase !== 'up') return;
      // Nothing heard for a heartbeat timeout: the link is black-holed (R3.1).
      if (Date.now() - this.lastHeard > grant.heartbeatTimeoutMs) return this.dropSocket();
      this.socket?.send({ t: 'ping' });
    };
    // Checked after the next poll phase, so that what arrived during an event-loop stall is
    // read before the link is judged silent. (Browsers have no setImmediate: a 0 ms timeout.)
    this.heartbeat = setInterval(() => defer(check), grant.heartbeatIntervalMs);
  }

  /**
   * Watches the attempt in progress: it is abandoned only after `attemptTimeoutMs` without any
   * progress (the dial started, the socket opened, a frame arrived), i.e. in a black hole. A
   * handshake that is slow but moving (a busy server, a busy process) is never cut short and
   * begun again, which would only add to the load that made it slow.
   */
  private watchAttempt(delayMs: number): void {
    const attempt = this.attempt;
    this.timer = setTimeout(() => {
      this.timer = null;
      // Judged after the next poll phase, so that an answer that arrived during an event-loop
      // stall (the socket's opening, a grant) is read first and counts as progress.
      defer(() => this.checkAttempt(attempt));
    }, delayMs);
  }

  private checkAttempt(attempt: number): void {
    if (attempt !== this.attempt || (this.phase !== 'dialing' && this.phase !== 'authenticating')) return;
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs < this.policy.attemptTimeoutMs) return this.watchAttempt(this.policy.attemptTimeoutMs - silentMs);
    this.dropSocket();
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.close(4000);
    this.socketClosed();
  }

  /** `closeCode` as the socket reported it; 4000 when the client dropped the socket itself. */
  private socketClosed(closeCode = 4000): void {
    this.socket = null;
    const was = this.phase;
    if (was === 'stopped' || was === 'refused' || was === 'waiting') return;
    this.clearTimers();
    if (was === 'up') {
      this.phase = 'waiting';
      this.lostAt = Date.now();
      this.hooks.onLost(closeCode);
      this.hooks.report({ type: 'LINK_DOWN' });
      // R3.1: re-dial at once (unless the report made the machine stop the link).
      if (this.phase === 'waiting') {
        this.failures = 0;
        void this.dial();
      }
      return;
    }
    this.attemptFailed();
  }

  private attemptFailed(): void {
    if (this.phase === 'stopped' || this.phase === 'refused') return;
    this.clearTimers();
    this.phase = 'waiting';
    const delay = this.policy.delayAfter(this.failures++, this.lostAt === null ? undefined : Date.now() - this.lostAt);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.dial();
    }, delay);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.timer = null;
    this.heartbeat = null;
  }
}

