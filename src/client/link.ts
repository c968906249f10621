/**
 * The socket adapter of the link machine (machines/link.machine.ts): one per client, it holds
 * the WebSocket of the link's current attempt and turns what happens on it into the machine's
 * socket events (SOCKET_OPEN, SOCKET_CLOSED, GRANTED, REFUSED, KICK, SILENT, and PROGRESS for
 * a frame that arrives while the login or resume awaits its answer). It decides
 * nothing: when to dial, when to give up, when to back off and what a refusal means are the
 * machine's. Ordinary frames (answers, messages, member changes) go straight to the client;
 * only their arrival time is kept, for the heartbeat.
 */
import { attemptTimeoutMs, type HeartbeatCadence, type SocketEvent } from '../../machines/link.machine.js';
import type { Timing } from '../../machines/timing.js';
import { CloseCode, PROTOCOL_VERSION, SessionGrant, type ClientFrame, type ServerFrame } from '../protocol/client.js';
import { FrameSocket, resolveWebSocket, type EncodedFrame, type WebSocketConstructor } from './socket.js';

const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/** The request id the link uses for its own login / resume / logout; the outbox counts from 1. */
export const LINK_REQUEST_ID = 0;

export interface ResumePoint {
  peerSeq: number;
  channels: Array<{ channel: string; seq: number }>;
}

export interface LinkSocketHooks {
  /** Where a resume starts: the last sequences seen (R5.2, R5.3). */
  resumePoint(): ResumePoint;
  /** Every frame for the application layer (responses, messages, member changes), once up. */
  onFrame(frame: ServerFrame): void;
}

export interface LinkSocketOptions {
  url: string;
  /** The farewell (a logout while the link is down) may take one attempt timeout. */
  timing: Timing;
  WebSocket?: WebSocketConstructor;
}

/** What the login or resume presents (the machine's `sendHello` parameters). */
export interface HelloParams {
  uid: string;
  token: string;
  sessionId: string | null;
}

/** The token for a login or resume; none for an anonymous login (empty token, 14.2). */
const tokenField = (token: string): { token?: string } => (token === '' ? {} : { token });

export class LinkSocket {
  private socket: FrameSocket | null = null;
  /** Counts attempts, so that a late callback of an old socket never reaches the machine. */
  private attempt = 0;
  /** Where the socket actor's reports go (its `sendBack`); set once the actor starts. */
  private reporter: ((event: SocketEvent) => void) | null = null;
  /** The reports of the attempt under way: the reporter from the dial until the hang-up. */
  private report: ((event: SocketEvent) => void) | null = null;
  /** The heartbeat's timer while the link is up. */
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private awaitingAnswer = false;
  private up = false;
  /** When the server was last heard from. */
  private lastHeard = 0;
  /** When the attempt last made progress: the dial left, the socket opened, a frame arrived. */
  private lastProgress = 0;
  /** When this socket last sent a frame: the server counts any frame as a sign of life. */
  private lastSent = 0;
  /** The grant's heartbeat interval: the longest the server should go without hearing from us. */
  private keepaliveMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly options: LinkSocketOptions,
    private readonly hooks: LinkSocketHooks,
  ) {}

  /** Granted, and the socket still open. */
  get isUp(): boolean {
    return this.up;
  }

  /** How long the current attempt has gone without progress (the machine's `judgeAttempt`). */
  quietForMs(): number {
    return Date.now() - this.lastProgress;
  }

  /** Sends a frame if the link is up; false otherwise (the caller keeps it queued). */
  transmit(frame: ClientFrame | EncodedFrame): boolean {
    if (!this.up || this.socket === null || !this.socket.send(frame)) return false;
    this.lastSent = Date.now();
    return true;
  }

  /** The machine's `socket` actor started: what it reports goes to `report`. */
  attach(report: (event: SocketEvent) => void): void {
    this.reporter = report;
  }

  /** An attempt begins (the machine's `dial`): dial. Its events go to the socket actor's reporter. */
  open(): void {
    const attempt = ++this.attempt;
    this.report = this.reporter;
    this.awaitingAnswer = false;
    this.up = false;
    this.lastHeard = Date.now();
    this.lastProgress = this.lastHeard;
    this.keepaliveMs = Number.POSITIVE_INFINITY;
    void this.dial(attempt);
  }

  /** The attempt ended (the machine's `hangUp`, or the link stopped): close without a word, forget its callbacks. */
  close(code: number = CloseCode.NORMAL): void {
    this.stopHeartbeat();
    this.attempt++;
    this.report = null;
    this.up = false;
    this.awaitingAnswer = false;
    const socket = this.socket;
    this.socket = null;
    socket?.close(code);
  }

  /** Sends the login, or the resume of `sessionId` from the sequences already received. */
  sendHello({ uid, token, sessionId }: HelloParams): void {
    if (!this.socket) return;
    this.awaitingAnswer = true;
    this.lastSent = Date.now();
    if (sessionId === null) {
      this.socket.send({ t: 'login', id: LINK_REQUEST_ID, v: PROTOCOL_VERSION, uid, ...tokenField(token) });
      return;
    }
    const { peerSeq, channels } = this.hooks.resumePoint();
    this.socket.send({ t: 'resume', id: LINK_REQUEST_ID, v: PROTOCOL_VERSION, uid, sessionId, ...tokenField(token), peerSeq, channels });
  }

  /**
   * The link is up (the machine's `startHeartbeat`): a probe every `intervalMs` until
   * `stopHeartbeat`. The timer is the socket's own, outside the interpreter: a tick that finds
   * the link alive is a ping (or nothing) and never an event for the machine.
   */
  startHeartbeat({ intervalMs, timeoutMs }: HeartbeatCadence): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.probeHeartbeat(timeoutMs), intervalMs);
  }

  stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /**
   * One heartbeat: a ping, or SILENT when nothing was heard for `timeoutMs` (a black hole,
   * R3.1). Judged after the next poll phase, so that what arrived during an event-loop stall is
   * read before the link is called silent.
   */
  probeHeartbeat(timeoutMs: number): void {
    const attempt = this.attempt;
    defer(() => {
      if (attempt !== this.attempt || !this.up) return;
      const now = Date.now();
      const silentMs = now - this.lastHeard;
      if (silentMs > timeoutMs) return this.report?.({ type: 'SILENT', silentMs });
      // A keepalive sent while reading (below) within the last half interval already told the server.
      if (now - this.lastSent >= this.keepaliveMs / 2) this.ping(now);
    });
  }

  private ping(now: number): void {
    if (this.socket?.send({ t: 'ping' })) this.lastSent = now;
  }

  /** Logout while up: the goodbye leaves before the socket closes (R7.1). */
  sendLogout(): void {
    if (this.up) this.socket?.send({ t: 'logout', id: LINK_REQUEST_ID });
  }

  /**
   * Logged out while the link was down: one bounded, best-effort attempt to tell the server, so
   * that it ends the session now rather than at the end of the presence window (R7.1).
   */
  async farewell({ uid, token, sessionId }: HelloParams): Promise<void> {
    if (sessionId === null) return;
    let ctor: WebSocketConstructor;
    try {
      ctor = await resolveWebSocket(this.options.WebSocket);
    } catch {
      return;
    }
    const { peerSeq } = this.hooks.resumePoint();
    let socket: FrameSocket | null = null;
    const timer = setTimeout(() => socket?.close(CloseCode.NORMAL), attemptTimeoutMs(this.options.timing));
    try {
      socket = FrameSocket.open(ctor, this.options.url, {
        onOpen: () => {
          socket?.send({ t: 'resume', id: LINK_REQUEST_ID, v: PROTOCOL_VERSION, uid, sessionId, ...tokenField(token), peerSeq, channels: [] });
          socket?.send({ t: 'logout', id: LINK_REQUEST_ID + 1 });
        },
        onFrame: (frame) => {
          if (frame.t !== 'res' || frame.id !== LINK_REQUEST_ID + 1) return;
          clearTimeout(timer);
          socket?.close(CloseCode.NORMAL);
        },
        onClose: () => clearTimeout(timer),
      });
    } catch {
      clearTimeout(timer);
    }
  }

  private async dial(attempt: number): Promise<void> {
    let ctor: WebSocketConstructor;
    try {
      ctor = await resolveWebSocket(this.options.WebSocket);
    } catch {
      return this.lost(attempt, CloseCode.PROTOCOL_ERROR);
    }
    if (attempt !== this.attempt) return;
    try {
      this.socket = FrameSocket.open(ctor, this.options.url, {
        onOpen: () => {
          if (attempt !== this.attempt) return;
          this.lastProgress = Date.now();
          this.report?.({ type: 'SOCKET_OPEN' });
        },
        onFrame: (frame) => {
          if (attempt === this.attempt) this.receive(frame);
        },
        onClose: (code) => this.lost(attempt, code),
      });
      // The dial has left (its constructor resolved, perhaps only now): progress.
      this.lastProgress = Date.now();
    } catch {
      this.lost(attempt, CloseCode.PROTOCOL_ERROR);
    }
  }

  private lost(attempt: number, code: number): void {
    if (attempt !== this.attempt) return;
    this.socket = null;
    this.up = false;
    this.report?.({ type: 'SOCKET_CLOSED', code });
  }

  private receive(frame: ServerFrame): void {
    this.lastHeard = Date.now();
    this.lastProgress = this.lastHeard;
    if (this.awaitingAnswer && frame.t === 'res' && frame.id === LINK_REQUEST_ID) {
      this.awaitingAnswer = false;
      if (!frame.ok) return this.report?.({ type: 'REFUSED', code: frame.code });
      const grant = SessionGrant.safeParse(frame.data);
      if (!grant.success) {
        // A grant we cannot read: the server breaks the protocol; treated like a lost socket.
        const attempt = this.attempt;
        this.socket?.close(CloseCode.PROTOCOL_ERROR);
        return this.lost(attempt, CloseCode.PROTOCOL_ERROR);
      }
      this.up = true;
      this.keepaliveMs = grant.data.heartbeatIntervalMs;
      return this.report?.({ type: 'GRANTED', grant: grant.data });
    }
    if (this.awaitingAnswer) this.report?.({ type: 'PROGRESS' });
    // A keepalive while reading: a client too busy for its heartbeat timer to run on time (a
    // reconnect storm, a long replay) still tells the server it is alive, so the server does not
    // close a healthy link for silence (4003) and start the whole reconnect again.
    else if (this.up && this.lastHeard - this.lastSent >= this.keepaliveMs) this.ping(this.lastHeard);
    switch (frame.t) {
      case 'pong':
      case 'error': // the server closes the socket next; the close is what counts
        return;
      case 'kick':
        return this.report?.({ type: 'KICK', reason: frame.reason });
      default:
        if (this.up) this.hooks.onFrame(frame);
    }
  }
}
