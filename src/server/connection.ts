/**
 * One client socket: its outgoing queue, its incoming request queue and its link to a session.
 *
 * Outgoing frames are coalesced: everything queued for a socket until the shared `WriteScheduler`
 * gets to it leaves as one WebSocket message (frames joined by '\n'). The scheduler starts at the end
 * of the event-loop turn and writes the waiting sockets a slice per turn, so what arrives
 * meanwhile joins the sockets not written yet. A channel message is encoded and framed once
 * (`SharedFrame`) and the same bytes are written to every recipient's TCP socket; sockets with
 * several frames share one joined message when their frames are the same shared ones. Writing
 * frames to the socket directly (rather than through ws.send, which frames every call again) is
 * safe because perMessageDeflate is off, so ws's own writes (close frames) are synchronous too
 * and the byte stream stays in order.
 *
 * While a login, resume or join is replaying missed messages the connection is "held": live
 * deliveries wait, and are released after the replay minus any the replay already carried.
 *
 * Unsent bytes are bounded per socket and over all sockets (`SendBudget`). A socket over its own
 * bound is a slow consumer: it is closed with 4005, and its close frame waits behind what is
 * already buffered (ws ends it after 30 s at most), so a client that reads again sees 4005.
 */
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { CloseCode, encodeFrame, type ClientFrame, type ServerFrame } from '../protocol/index.js';
import type { LocalSession } from './local-session.js';
import { SharedFrame, textFrame } from './ws-frame.js';

const SEPARATOR = Buffer.from('\n');
/** Requests a socket may have waiting; a client that pipelines more is broken or hostile. */
export const MAX_PENDING_REQUESTS = 4096;

/** The stream a live frame belongs to: '' for the peer inbox, else the channel id. */
export const PEER_STREAM = '';
const EVENT_STREAM = ' events';

/** A payload for this socket alone, or one shared by many sockets with its frame prebuilt. */
export type Outgoing = Buffer | SharedFrame;

interface HeldFrame {
  stream: string;
  seq: number;
  payload: Outgoing;
}

/** What a replay carried: the frames, and the last seq it sent on each stream. */
export interface Replay {
  frames: Buffer[];
  lastSeq: Map<string, number>;
  /** Per channel replayed: what it carried and what its bounds left out. */
  recovery: ChannelRecovery[];
}

export function mergeReplays(a: Replay, b: Replay): Replay {
  const lastSeq = new Map(a.lastSeq);
  for (const [stream, seq] of b.lastSeq) lastSeq.set(stream, Math.max(seq, lastSeq.get(stream) ?? 0));
  return { frames: [...a.frames, ...b.frames], lastSeq, recovery: [...a.recovery, ...b.recovery] };
}

/** The `data` of a successful channel.join (protocol JoinResult). */
export interface JoinAnswer {
  members: string[];
  seq: number;
  epoch: string;
  recovery?: Omit<ChannelRecovery, 'channel'>;
}

/** Per channel, what a replay could not carry (R11.1); told to the client in the answer. */
export interface ChannelRecovery {
  channel: string;
  replayed: number;
  skipped: number;
  truncatedBy: 'REPLAY_CAP' | 'REPLAY_WINDOW' | null;
}

/** Sockets written per turn of the event loop while the write scheduler sweeps through its dirty list. */
export const FLUSH_SLICE = 32;
/** Joined messages kept for reuse within one sweep. */
const MAX_JOINED_FRAMES = 1024;

/**
 * Unsent bytes (what the TCP sockets hold in user space beyond what the kernel took) per socket
 * and in total. A socket's figure is read after each write; a socket that drained is seen at
 * its next write or at `refresh()` (the heartbeat sweep), so the running total errs high, and
 * is recounted exactly before anything is dropped for it.
 */
export class SendBudget {
  /** Sockets with unsent bytes at their last reading, closing ones included. */
  private readonly holding = new Set<Connection>();
  private total = 0;
  private enforcing = false;

  constructor(
    readonly maxPerSocket = 16 * 1024 * 1024,
    readonly maxTotal = 256 * 1024 * 1024,
  ) {}

  /** A socket's new reading, when it differs from its last one. */
  changed(connection: Connection, before: number, after: number): void {
    this.total += after - before;
    if (after > 0) this.holding.add(connection);
    else this.holding.delete(connection);
    if (this.total > this.maxTotal) this.enforce();
  }

  /** The socket is gone: its bytes no longer count. */
  forget(connection: Connection): void {
    if (this.holding.delete(connection)) this.total -= connection.buffered;
  }

  /** Recounts every socket that held bytes, and enforces the total. */
  refresh(): void {
    this.recount();
    if (this.total > this.maxTotal) this.enforce();
  }

  private recount(): void {
    let total = 0;
    for (const connection of this.holding) {
      const held = connection.readBuffered();
      if (held === 0) this.holding.delete(connection);
      total += held;
    }
    this.total = total;
  }

  /**
   * Over the total: sockets already closing (slow consumers whose close frame waits behind their
   * bytes) are dropped first, then the open sockets holding the most are closed with 4005 and
   * dropped at once, until the total is under the bound. Dropping is what frees the memory; the
   * close frame reaches such a client only if its bytes were nearly through.
   */
  private enforce(): void {
    if (this.enforcing) return;
    this.enforcing = true;
    try {
      this.recount();
      if (this.total <= this.maxTotal) return;
      const order = [...this.holding].sort((a, b) => Number(b.closed) - Number(a.closed) || b.buffered - a.buffered);
      for (const connection of order) {
        if (this.total <= this.maxTotal) break;
        // close() flushes what is queued first, which may change the reading: forget after it.
        if (!connection.closed) connection.close(CloseCode.SLOW_CONSUMER, 'server send buffers full');
        this.forget(connection);
        connection.terminate();
      }
    } finally {
      this.enforcing = false;
    }
  }
}

/** Writes the sockets that have frames queued, a slice of them per turn of the event loop. */
export class WriteScheduler {
  /** Sockets with something queued, in the order they were marked; `next` is where the sweep is. */
  private dirty: Connection[] = [];
  private next = 0;
  private scheduled = false;
  /** Joined messages built in this sweep, by the ids of the shared frames they carry. */
  private readonly joined = new Map<string, Buffer>();

  /**
   * `delayMs` 0: start writing at the end of this event-loop turn; more: wait that long to
   * coalesce further. Either way the sockets are then written `sliceSize` at a time, one slice
   * per turn, so that what arrives meanwhile is read between slices and joins the queues of
   * the sockets not written yet: under load those get several messages in one write, sooner
   * than a sweep of their own would bring them.
   */
  constructor(
    private readonly delayMs = 0,
    private readonly sliceSize = FLUSH_SLICE,
    readonly budget = new SendBudget(),
  ) {}

  mark(connection: Connection): void {
    this.dirty.push(connection);
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.delayMs > 0) setTimeout(this.flushSlice, this.delayMs);
      else setImmediate(this.flushSlice);
    }
  }

  /**
   * The one WebSocket message carrying `parts`, joined by '\n'. Sockets that got the same
   * shared frames since their last write (the usual case in a busy channel) share one joined
   * message, built once per sweep.
   */
  joinedFrame(parts: readonly Outgoing[]): Buffer {
    let key = '';
    for (const part of parts) {
      if (!(part instanceof SharedFrame)) return textFrame(joinPayloads(parts));
      key += `${part.id},`;
    }
    let frame = this.joined.get(key);
    if (!frame) {
      if (this.joined.size >= MAX_JOINED_FRAMES) this.joined.clear();
      frame = textFrame(joinPayloads(parts));
      this.joined.set(key, frame);
    }
    return frame;
  }

  private readonly flushSlice = (): void => {
    const dirty = this.dirty;
    const end = Math.min(dirty.length, this.next + this.sliceSize);
    for (let i = this.next; i < end; i++) dirty[i]!.flush();
    this.next = end;
    if (end < dirty.length) {
      // A sweep that never runs dry must not keep every socket it has written.
      if (end >= 4 * this.sliceSize && end * 2 >= dirty.length) {
        this.dirty = dirty.slice(end);
        this.next = 0;
      }
      setImmediate(this.flushSlice);
      return;
    }
    this.dirty = [];
    this.next = 0;
    this.scheduled = false;
    this.joined.clear();
  };
}

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  /** When the socket last sent anything (opened, or a frame or ping), on the monotonic clock. */
  lastSeen = performance.now();
  /** Unsent bytes at the last reading (see SendBudget). */
  buffered = 0;
  /** login and resume requests this socket has made (bounded: see FrameHandler). */
  loginAttempts = 0;
  /** A ping was read and nothing has been written since (see FrameHandler.answerPing). */
  pongOwed = false;
  session: LocalSession | null = null;
  closed = false;
  /**
   * The highest peer-inbox seq this socket has been given (or that its resume said it had): a
   * cumulative ack is clamped to it, so that no ack drops messages never delivered (R5.2).
   */
  peerSeqSent = 0;
  /** Requests waiting their turn: one socket's requests run strictly in order. */
  readonly pending: ClientFrame[] = [];
  busy = false;
  private queue: Outgoing[] = [];
  private held: HeldFrame[] | null = null;
  /** What waits for the held answer to go out (`afterAnswer`). */
  private afterRelease: Array<() => void> | null = null;
  private terminateTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket under `ws`, written to directly with prebuilt frames. */
    private readonly socket: Duplex,
    private readonly writes: WriteScheduler,
    private readonly onClosed: (connection: Connection, code: number) => void,
  ) {}

  sendFrame(frame: ServerFrame): void {
    this.sendEncoded(Buffer.from(encodeFrame(frame)));
  }

  sendEncoded(payload: Outgoing): void {
    if (this.closed) return;
    if (this.queue.push(payload) === 1) this.writes.mark(this);
  }

  /** A live message on a stream; held back while a replay is being assembled. */
  deliver(stream: string, seq: number, payload: Outgoing): void {
    if (this.held) return void this.held.push({ stream, seq, payload });
    if (stream === PEER_STREAM && seq > this.peerSeqSent) this.peerSeqSent = seq;
    this.sendEncoded(payload);
  }

  /** A frame outside any stream (member events): held like live frames, never filtered out. */
  deliverEvent(payload: Outgoing): void {
    if (this.held) this.held.push({ stream: EVENT_STREAM, seq: Number.POSITIVE_INFINITY, payload });
    else this.sendEncoded(payload);
  }

  hold(): void {
    this.held ??= [];
  }

  /**
   * Runs `task` once the answer this socket is held for (login, resume, join) and its replay
   * are out, or now when none is pending: a kick decided elsewhere while a login is being
   * answered must not overtake the answer (the client would read a kick before it is logged in).
   */
  afterAnswer(task: () => void): void {
    if (this.held) (this.afterRelease ??= []).push(task);
    else task();
  }

  /** Sends the replay, then the held live frames the replay did not already carry. */
  release(replay: Replay | undefined): void {
    const held = this.held ?? [];
    this.held = null;
    if (replay) for (const frame of replay.frames) this.sendEncoded(frame);
    const peerReplayedUpTo = replay?.lastSeq.get(PEER_STREAM);
    if (peerReplayedUpTo !== undefined && peerReplayedUpTo > this.peerSeqSent) this.peerSeqSent = peerReplayedUpTo;
    for (const frame of held) {
      const replayedUpTo = replay?.lastSeq.get(frame.stream);
      if (replayedUpTo !== undefined && frame.seq <= replayedUpTo) continue;
      if (frame.stream === PEER_STREAM && frame.seq > this.peerSeqSent) this.peerSeqSent = frame.seq;
      this.sendEncoded(frame.payload);
    }
    const waiting = this.afterRelease;
    this.afterRelease = null;
    if (waiting) for (const task of waiting) task();
  }

  flush(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    if (this.closed) return;
    const only = queue.length === 1 ? queue[0]! : null;
    this.write(only instanceof SharedFrame ? only.frame : only ? textFrame(only) : this.writes.joinedFrame(queue));
  }

  private write(frame: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.socket.write(frame);
    this.pongOwed = false;
    const buffered = this.socket.writableLength;
    // Usually the kernel takes the whole frame and both readings are 0.
    if (buffered === this.buffered) return;
    const before = this.buffered;
    this.buffered = buffered;
    const budget = this.writes.budget;
    if (buffered > budget.maxPerSocket) this.close(CloseCode.SLOW_CONSUMER, 'send buffer overflow');
    budget.changed(this, before, buffered);
  }

  /** Reads the socket's unsent bytes again (the budget's recount). */
  readBuffered(): number {
    const buffered = this.ws.readyState === WebSocket.CLOSED ? 0 : this.socket.writableLength;
    this.buffered = buffered;
    return buffered;
  }

  /**
   * Flushes what is queued, closes with `code`, and reports the link gone at once: a
   * black-holed peer would hold ws's closing handshake open for 30 s, so the socket is
   * terminated if the handshake has not finished shortly after.
   */
  close(code: number, reason = ''): void {
    if (this.closed) return;
    this.flush();
    // The flush itself may have closed the socket (send buffer overflow).
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    // A slow consumer's close frame waits behind its unsent bytes, so that a client that reads
    // again sees 4005: ws's own close timeout (30 s) ends the socket if it never does, and the
    // send budget drops it sooner when all sockets together hold too much.
    if (code !== CloseCode.SLOW_CONSUMER) {
      this.terminateTimer = setTimeout(() => this.ws.terminate(), 1000);
      this.terminateTimer.unref();
    }
    this.onClosed(this, code);
  }

  /** The socket closed by itself (peer closed, network error). */
  closedByPeer(code: number): void {
    clearTimeout(this.terminateTimer);
    this.writes.budget.forget(this);
    this.buffered = 0;
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.onClosed(this, code);
  }

  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }
}

function joinPayloads(parts: readonly Outgoing[]): Buffer {
  const pieces: Buffer[] = new Array(parts.length * 2 - 1);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) pieces[i * 2 - 1] = SEPARATOR;
    const part = parts[i]!;
    pieces[i * 2] = part instanceof SharedFrame ? part.payload : part;
  }
  return Buffer.concat(pieces);
}
