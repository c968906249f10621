/**
 * One client socket: its outgoing queue, its incoming request queue and its link to a session.
 *
 * Outgoing frames are coalesced: everything queued for a socket during one turn of the event
 * loop leaves as one WebSocket message (frames joined by '\n'), flushed on setImmediate by the
 * shared `Outbox`. A channel message is encoded and framed once (`SharedFrame`) and the same
 * bytes are written to every recipient's TCP socket; only a socket with several frames in one
 * tick gets a frame of its own. Writing frames to the socket directly (rather than through
 * ws.send, which frames every call again) is safe because perMessageDeflate is off, so ws's own
 * writes (close frames) are synchronous too and the byte stream stays in order.
 *
 * While a login, resume or join is replaying missed messages the connection is "held": live
 * deliveries wait, and are released after the replay minus any the replay already carried.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { CloseCode, encodeFrame, type ClientFrame, type ServerFrame } from '../protocol/index.js';
import type { LocalSession } from './local-session.js';
import { SharedFrame, textFrame } from './ws-frame.js';

const SEPARATOR = Buffer.from('\n');
/** A socket whose unsent bytes pass this is closed rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
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
}

export class Outbox {
  private dirty: Connection[] = [];
  private scheduled = false;
  /** Time of the last flush, shared by every socket written in it. */
  now = Date.now();

  /** 0: flush at the end of this event-loop turn; more: wait that long to coalesce further. */
  constructor(private readonly delayMs = 0) {}

  mark(connection: Connection): void {
    this.dirty.push(connection);
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.delayMs > 0) setTimeout(this.flushAll, this.delayMs);
      else setImmediate(this.flushAll);
    }
  }

  readonly flushAll = (): void => {
    this.scheduled = false;
    this.now = Date.now();
    const dirty = this.dirty;
    this.dirty = [];
    for (const connection of dirty) connection.flush();
  };
}

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  readonly openedAt = Date.now();
  lastSeen = this.openedAt;
  /** When something was last written to this socket (flush time). */
  lastWritten = 0;
  session: LocalSession | null = null;
  closed = false;
  /** Requests waiting their turn: one socket's requests run strictly in order. */
  readonly pending: ClientFrame[] = [];
  busy = false;
  private queue: Outgoing[] = [];
  private held: HeldFrame[] | null = null;
  private terminateTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket under `ws`, written to directly with prebuilt frames. */
    private readonly socket: Duplex,
    private readonly outbox: Outbox,
    private readonly onClosed: (connection: Connection, code: number) => void,
  ) {}

  sendFrame(frame: ServerFrame): void {
    this.sendEncoded(Buffer.from(encodeFrame(frame)));
  }

  sendEncoded(payload: Outgoing): void {
    if (this.closed) return;
    if (this.queue.push(payload) === 1) this.outbox.mark(this);
  }

  /** A live message on a stream; held back while a replay is being assembled. */
  deliver(stream: string, seq: number, payload: Outgoing): void {
    if (this.held) this.held.push({ stream, seq, payload });
    else this.sendEncoded(payload);
  }

  /** A frame outside any stream (member events): held like live frames, never filtered out. */
  deliverEvent(payload: Outgoing): void {
    if (this.held) this.held.push({ stream: EVENT_STREAM, seq: Number.POSITIVE_INFINITY, payload });
    else this.sendEncoded(payload);
  }

  hold(): void {
    this.held ??= [];
  }

  /** Sends the replay, then the held live frames the replay did not already carry. */
  release(replay: Replay | undefined): void {
    const held = this.held ?? [];
    this.held = null;
    if (replay) for (const frame of replay.frames) this.sendEncoded(frame);
    for (const frame of held) {
      const replayedUpTo = replay?.lastSeq.get(frame.stream);
      if (replayedUpTo === undefined || frame.seq > replayedUpTo) this.sendEncoded(frame.payload);
    }
  }

  flush(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    if (this.closed) return;
    const only = queue.length === 1 ? queue[0]! : null;
    this.write(only instanceof SharedFrame ? only.frame : textFrame(only ?? joinPayloads(queue)));
  }

  private write(frame: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.socket.write(frame);
    this.lastWritten = this.outbox.now;
    if (this.socket.writableLength > MAX_BUFFERED_BYTES) this.close(CloseCode.SLOW_CONSUMER, 'send buffer overflow');
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
    this.terminateTimer = setTimeout(() => this.ws.terminate(), 1000);
    this.terminateTimer.unref();
    this.onClosed(this, code);
  }

  /** The socket closed by itself (peer closed, network error). */
  closedByPeer(code: number): void {
    clearTimeout(this.terminateTimer);
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
