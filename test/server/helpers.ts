/**
 * A raw protocol client for server tests (no SDK): sends frames as written, records every frame
 * received, and lets a test await the next frame that matches, or the close.
 */
import { WebSocket } from 'ws';
import { SUBPROTOCOL, splitFrames } from '../../src/protocol/index.js';
import { createRtmServer, type RtmServer, type RtmServerOptions } from '../../src/server/index.js';

// Frames are read loosely on purpose: tests assert on exact fields.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

export interface Closed {
  code: number;
  reason: string;
}

const DEFAULT_WAIT_MS = 5000;

export class RawClient {
  readonly frames: Frame[] = [];
  /** WebSocket messages received (each may carry several frames). */
  messages = 0;
  readonly closed: Promise<Closed>;
  isClosed = false;
  private taken = new Set<number>();
  private waiters: Array<() => void> = [];
  private nextId = 1;
  private pinger: NodeJS.Timeout | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages++;
      for (const raw of splitFrames(data.toString())) this.frames.push(JSON.parse(raw) as Frame);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        this.stopPinging();
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string, options: { protocols?: string[]; pingEveryMs?: number } = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options.protocols ?? [SUBPROTOCOL], { perMessageDeflate: false });
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (options.pingEveryMs !== 0) client.startPinging(options.pingEveryMs ?? 200);
    return client;
  }

  startPinging(everyMs: number): void {
    this.stopPinging();
    this.pinger = setInterval(() => this.sendRaw('{"t":"ping"}'), everyMs);
  }

  stopPinging(): void {
    clearInterval(this.pinger);
    this.pinger = undefined;
  }

  sendRaw(data: string | Buffer, binary = false): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary });
  }

  send(frame: Frame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /** Sends a request with the next id and resolves with its `res` frame. */
  async request(frame: Frame, waitMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const id = this.nextId++;
    this.send({ ...frame, id });
    return this.next((f) => f.t === 'res' && f.id === id, waitMs);
  }

  /** Like request, but fails the test unless the answer is ok; resolves with `data`. */
  async ok(frame: Frame, waitMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const res = await this.request(frame, waitMs);
    if (!res.ok) throw new Error(`${String(frame.t)} failed: ${res.code} ${res.message}`);
    return (res.data ?? {}) as Frame;
  }

  /**
   * The first frame not yet taken that matches, waiting for it if needed. Deadlines here read the
   * monotonic clock: a test may step the wall clock (11.8) while a bystander waits.
   */
  async next(match: (frame: Frame) => boolean, waitMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      for (let i = 0; i < this.frames.length; i++) {
        if (!this.taken.has(i) && match(this.frames[i]!)) {
          this.taken.add(i);
          return this.frames[i]!;
        }
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.isClosed) {
        throw new Error(`no matching frame within ${waitMs} ms (closed: ${this.isClosed}); got ${JSON.stringify(this.frames.slice(-5))}`);
      }
      await this.changed(left);
    }
  }

  /** Every frame received so far that matches (taken or not). */
  all(match: (frame: Frame) => boolean): Frame[] {
    return this.frames.filter(match);
  }

  /** Waits until `count` frames matching have arrived in total. */
  async collect(match: (frame: Frame) => boolean, count: number, waitMs = DEFAULT_WAIT_MS): Promise<Frame[]> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const found = this.all(match);
      if (found.length >= count) return found;
      const left = deadline - performance.now();
      if (left <= 0 || this.isClosed) throw new Error(`only ${found.length}/${count} matching frames within ${waitMs} ms`);
      await this.changed(left);
    }
  }

  /** Drops the TCP connection without a close handshake: the server sees the link lost. */
  terminate(): void {
    this.stopPinging();
    this.ws.terminate();
  }

  close(): void {
    this.stopPinging();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }

  private changed(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Scaled timing for tests: grace 200 ms, presence 1 s, replay window 1 s; lenient heartbeat. */
export const testTiming = {
  loginTimeoutMs: 600,
  interruptionGraceMs: 200,
  presenceTimeoutMs: 1000,
  channelReplayWindowMs: 1000,
  channelReplayMax: 32,
  requestTimeoutMs: 1000,
};

/** Tracks servers and clients so that `cleanup()` (afterEach) closes everything. */
export class Harness {
  private servers: RtmServer[] = [];
  private clients: RawClient[] = [];

  async server(options: RtmServerOptions = {}): Promise<RtmServer> {
    const server = await createRtmServer({
      port: 0,
      inspector: false,
      timing: testTiming,
      heartbeat: { intervalMs: 200, timeoutMs: 5000 },
      ...options,
    });
    this.servers.push(server);
    return server;
  }

  async connect(server: RtmServer, options: { protocols?: string[]; pingEveryMs?: number } = {}): Promise<RawClient> {
    const client = await RawClient.connect(server.url, options);
    this.clients.push(client);
    return client;
  }

  /** A connected client logged in as uid; resolves with the client and its SessionGrant. */
  async login(server: RtmServer, uid: string, options: { pingEveryMs?: number } = {}): Promise<{ client: RawClient; grant: Frame }> {
    const client = await this.connect(server, options);
    const grant = await client.ok({ t: 'login', v: 1, uid, token: server.createToken(uid) });
    return { client, grant };
  }

  /** Logs in and joins a channel ('room' unless named). */
  async loginInRoom(server: RtmServer, uid: string, channel = 'room'): Promise<{ client: RawClient; grant: Frame }> {
    const user = await this.login(server, uid);
    await user.client.ok({ t: 'channel.join', channel });
    return user;
  }

  /** Resumes a session on a new socket. */
  async resume(
    server: RtmServer,
    uid: string,
    sessionId: string,
    position: { peerSeq?: number; channels?: Array<{ channel: string; seq: number }> } = {},
  ): Promise<{ client: RawClient; res: Frame }> {
    const client = await this.connect(server);
    const res = await client.request({
      t: 'resume',
      v: 1,
      uid,
      sessionId,
      token: server.createToken(uid),
      peerSeq: position.peerSeq ?? 0,
      channels: position.channels ?? [],
    });
    return { client, res };
  }

  async cleanup(): Promise<void> {
    for (const client of this.clients) client.terminate();
    this.clients = [];
    await Promise.all(this.servers.map((server) => server.close()));
    this.servers = [];
  }
}

/** Polls `condition` until it holds or the deadline passes. */
export async function until(condition: () => boolean | Promise<boolean>, waitMs = DEFAULT_WAIT_MS, what = 'condition'): Promise<void> {
  const deadline = performance.now() + waitMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`${what} did not hold within ${waitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
