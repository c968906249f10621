/**
 * Light load-client connections, one class per benchmarked system, all with the same shape.
 * They speak each system's wire protocol over a raw `ws` socket, so that thousands fit in one
 * load process without the client side becoming the bottleneck:
 * - ours: the RTM protocol, built and read with the package's protocol module (encodeFrame /
 *   splitFrames / decodeServerFrame), login + channel.join, heartbeat pings and cumulative peer
 *   acks;
 * - Socket.IO: the Engine.IO v4 / Socket.IO v5 packet format over the WebSocket transport
 *   (`0` open, `40` connect with auth, `2`/`3` ping/pong, `42[...]` events);
 * - bare ws: `B<payload>` broadcast, `P<uid>\n<payload>` to one peer.
 */
import WebSocket from 'ws';
import type { ClientFrame, ServerFrame } from '../../src/protocol/index.js';
import { builtPackage } from '../lib/package.js';
import type { SystemName } from '../lib/systems.js';
export type { SystemName };

const { SUBPROTOCOL, decodeServerFrame, encodeFrame, splitFrames, SessionGrant } = await builtPackage('/protocol');

export interface ConnectionSpec {
  uid: string;
  /** Login token (ours only). */
  token?: string;
  /** The channel to join after connecting. */
  channel?: string;
  /** Where to connect, when not the request's URL (a node of a cluster). */
  url?: string;
}

export interface LoadConnection {
  readonly uid: string;
  open(): Promise<void>;
  sendChannel(text: string): void;
  sendPeer(to: string, text: string): void;
  /** Periodic housekeeping (heartbeat, acks); called by the load process's ticker. */
  tick(nowMs: number): void;
  close(): void;
  /** Error answers from the server, by code. */
  readonly errors: Map<string, number>;
}

export type TextHandler = (text: string) => void;

const OPEN_TIMEOUT_MS = 20_000;

function countError(errors: Map<string, number>, code: string): void {
  errors.set(code, (errors.get(code) ?? 0) + 1);
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out`)), OPEN_TIMEOUT_MS);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** What every system's connection shares: its address, its user, its socket and its error counts. */
abstract class BaseConnection {
  readonly errors = new Map<string, number>();
  protected socket: WebSocket | null = null;

  constructor(
    protected readonly url: string,
    protected readonly spec: ConnectionSpec,
    protected readonly onText: TextHandler,
  ) {}

  get uid(): string {
    return this.spec.uid;
  }

  close(): void {
    this.socket?.terminate();
  }
}

// ---- ours ----------------------------------------------------------------------------------

type Pending = { resolve: (data: unknown) => void; reject: (e: Error) => void };

class RtmConnection extends BaseConnection implements LoadConnection {
  private nextId = 1;
  private nextMsgId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastPeerSeq = 0;
  private ackedPeerSeq = 0;
  private heartbeatIntervalMs = 1000;
  private lastPingMs = 0;


  async open(): Promise<void> {
    const socket = new WebSocket(this.url, SUBPROTOCOL, { perMessageDeflate: false });
    this.socket = socket;
    socket.on('message', (data: Buffer) => this.receive(data.toString()));
    socket.on('error', () => undefined);
    socket.on('close', (code) => {
      if (!this.closing) countError(this.errors, `CLOSED_${code}`);
      for (const p of this.pending.values()) p.reject(new Error('socket closed'));
      this.pending.clear();
    });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      }),
      `connect ${this.spec.uid}`,
    );
    const grant = SessionGrant.parse(
      await this.request({ t: 'login', id: 0, v: 1, uid: this.spec.uid, token: this.spec.token ?? '' }),
    );
    this.heartbeatIntervalMs = grant.heartbeatIntervalMs;
    this.lastPingMs = performance.now();
    if (this.spec.channel) await this.request({ t: 'channel.join', id: 0, channel: this.spec.channel });
  }

  private request(frame: ClientFrame & { id: number }): Promise<unknown> {
    const id = this.nextId++;
    return withTimeout(
      new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        frame.id = id;
        this.socket!.send(encodeFrame(frame));
      }),
      `${frame.t} ${this.spec.uid}`,
    );
  }

  private receive(message: string): void {
    for (const raw of splitFrames(message)) {
      const decoded = decodeServerFrame(raw);
      if (!decoded.ok) {
        countError(this.errors, 'UNDECODABLE');
        continue;
      }
      this.handle(decoded.frame);
    }
  }

  private handle(frame: ServerFrame): void {
    switch (frame.t) {
      case 'channel.msg':
        this.onText(frame.text);
        return;
      case 'peer.msg':
        if (frame.seq > this.lastPeerSeq) this.lastPeerSeq = frame.seq;
        this.onText(frame.text);
        return;
      case 'res': {
        const pending = this.pending.get(frame.id);
        if (pending) {
          this.pending.delete(frame.id);
          if (frame.ok) pending.resolve(frame.data);
          else pending.reject(new Error(`${frame.code}: ${frame.message}`));
        } else if (!frame.ok) {
          countError(this.errors, frame.code);
        }
        return;
      }
      case 'error':
        countError(this.errors, frame.code);
        return;
      case 'kick':
        countError(this.errors, `KICK_${frame.reason}`);
        return;
      case 'peer.dropped':
        countError(this.errors, `DROPPED_${frame.reason}`);
        return;
      default:
        return;
    }
  }

  private send(frame: ClientFrame): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encodeFrame(frame));
    else countError(this.errors, 'SEND_ON_CLOSED');
  }

  sendChannel(text: string): void {
    // Fire and forget: the answer is matched to no pending request, so only errors are counted.
    this.send({ t: 'channel.send', id: this.nextId++, msgId: `m${this.nextMsgId++}`, channel: this.spec.channel!, text });
  }

  sendPeer(to: string, text: string): void {
    this.send({ t: 'peer.send', id: this.nextId++, msgId: `m${this.nextMsgId++}`, to, text, offline: false });
  }

  tick(nowMs: number): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    if (this.lastPeerSeq > this.ackedPeerSeq) {
      this.ackedPeerSeq = this.lastPeerSeq;
      this.send({ t: 'peer.ack', seq: this.lastPeerSeq });
    }
    if (nowMs - this.lastPingMs >= this.heartbeatIntervalMs) {
      this.lastPingMs = nowMs;
      this.send({ t: 'ping' });
    }
  }

  private closing = false;

  override close(): void {
    this.closing = true;
    super.close();
  }
}

// ---- Socket.IO -----------------------------------------------------------------------------

class SocketIoConnection extends BaseConnection implements LoadConnection {


  async open(): Promise<void> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const socket = new WebSocket(wsUrl, { perMessageDeflate: false });
    this.socket = socket;
    socket.on('error', () => undefined);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.on('message', (data: Buffer) => {
          const packet = data.toString();
          if (packet.startsWith('42')) this.event(packet);
          else if (packet === '2') socket.send('3');
          else if (packet.startsWith('0')) socket.send(`40${JSON.stringify({ uid: this.spec.uid, room: this.spec.channel })}`);
          else if (packet.startsWith('40')) resolve();
          else if (packet.startsWith('44')) reject(new Error(`connect_error ${packet}`));
        });
        socket.once('error', reject);
        socket.once('close', () => reject(new Error('closed before connect')));
      }),
      `connect ${this.spec.uid}`,
    );
  }

  private event(packet: string): void {
    const args = JSON.parse(packet.slice(2)) as [string, { text?: string }];
    const text = args[1]?.text;
    if (typeof text === 'string') this.onText(text);
    else countError(this.errors, 'UNEXPECTED_EVENT');
  }

  private emit(name: string, payload: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(`42${JSON.stringify([name, payload])}`);
    else countError(this.errors, 'SEND_ON_CLOSED');
  }

  sendChannel(text: string): void {
    this.emit('chan', { room: this.spec.channel, text });
  }

  sendPeer(to: string, text: string): void {
    this.emit('peer', { to, text });
  }

  tick(): void {
    // The server drives Socket.IO's heartbeat; the pong is sent on receipt.
  }

}

// ---- bare ws -------------------------------------------------------------------------------

class BareWsConnection extends BaseConnection implements LoadConnection {


  async open(): Promise<void> {
    const socket = new WebSocket(`${this.url}/?uid=${encodeURIComponent(this.spec.uid)}`, { perMessageDeflate: false });
    this.socket = socket;
    socket.on('message', (data: Buffer) => this.onText(data.toString()));
    socket.on('error', () => undefined);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      }),
      `connect ${this.spec.uid}`,
    );
  }

  private send(data: string): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(data);
    else countError(this.errors, 'SEND_ON_CLOSED');
  }

  sendChannel(text: string): void {
    this.send(`B${text}`);
  }

  sendPeer(to: string, text: string): void {
    this.send(`P${to}\n${text}`);
  }

  tick(): void {}

}

export function createConnection(system: SystemName, url: string, spec: ConnectionSpec, onText: TextHandler): LoadConnection {
  switch (system) {
    case 'rtm':
      return new RtmConnection(url, spec, onText);
    case 'socketio':
      return new SocketIoConnection(url, spec, onText);
    case 'ws':
      return new BareWsConnection(url, spec, onText);
  }
}
