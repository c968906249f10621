/**
 * One client socket: its outgoing queue, its incoming request queue and its link to a session.
 *
 * Outgoing frames are coalesced: everything queued for a socket during one turn of the event
 * loop leaves as one WebSocket message (frames joined by '\n'), flushed on setImmediate by the
 * shared `Outbox`. Frames are queued as Buffers so that a channel message encoded once is
 * shared by every recipient without copying.
 *
 * While a login, resume or join is replaying missed messages the connection is "held": live
 * deliveries wait, and are released after the replay minus any the replay already carried.
 */
import type { WebSocket } from 'ws';
import { CloseCode, encodeFrame, type ClientFrame, type ServerFrame } from '../protocol/index.js';
import type { LocalSession } from './local-session.js';

const SEPARATOR = Buffer.from('\n');
const SEND_OPTIONS = { binary: false } as const;
/** A socket whose unsent bytes pass this is closed rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Requests a socket may have waiting; a client that pipelines more is broken or hostile. */
export const MAX_PENDING_REQUESTS = 4096;

/** The stream a live frame belongs to: '' for the peer inbox, else the channel id. */
export const PEER_STREAM = '';
const EVENT_STREAM = ' events';

interface HeldFrame {
  stream: string;
  seq: number;
  payload: Buffer;
}

/** What a replay carried: the frames, and the last seq it sent on each stream. */
export interface Replay {
  frames: Buffer[];
  lastSeq: Map<string, number>;
}

export class Outbox {
  private dirty: Connection[] = [];
  private scheduled = false;

  mark(connection: Connection): void {
    this.dirty.push(connection);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  readonly flushAll = (): void => {
    this.scheduled = false;
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
  session: LocalSession | null = null;
  closed = false;
  /** Requests waiting their turn: one socket's requests run strictly in order. */
  readonly pending: ClientFrame[] = [];
  busy = false;
  private queue: Buffer[] = [];
  private held: HeldFrame[] | null = null;
  private terminateTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly outbox: Outbox,
    private readonly onClosed: (connection: Connection, code: number) => void,
  ) {}

  sendFrame(frame: ServerFrame): void {
    this.sendEncoded(Buffer.from(encodeFrame(frame)));
  }

  sendEncoded(payload: Buffer): void {
    if (this.closed) return;
    if (this.queue.push(payload) === 1) this.outbox.mark(this);
  }

  /** A live message on a stream; held back while a replay is being assembled. */
  deliver(stream: string, seq: number, payload: Buffer): void {
    if (this.held) this.held.push({ stream, seq, payload });
    else this.sendEncoded(payload);
  }

  /** A frame outside any stream (member events): held like live frames, never filtered out. */
  deliverEvent(payload: Buffer): void {
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
    if (queue.length === 0 || this.closed) {
      queue.length = 0;
      return;
    }
    this.queue = [];
    this.write(queue.length === 1 ? queue[0]! : joinBuffers(queue));
  }

  private write(payload: Buffer): void {
    this.ws.send(payload, SEND_OPTIONS);
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) this.close(CloseCode.SLOW_CONSUMER, 'send buffer overflow');
  }

  /**
   * Flushes what is queued, closes with `code`, and reports the link gone at once: a
   * black-holed peer would hold ws's closing handshake open for 30 s, so the socket is
   * terminated if the handshake has not finished shortly after.
   */
  close(code: number, reason = ''): void {
    if (this.closed) return;
    if (this.queue.length > 0) {
      const queue = this.queue;
      this.queue = [];
      try {
        this.ws.send(queue.length === 1 ? queue[0]! : joinBuffers(queue), SEND_OPTIONS);
      } catch {
        // The socket is already failing; the close below reports it.
      }
    }
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

function joinBuffers(parts: Buffer[]): Buffer {
  const pieces: Buffer[] = new Array(parts.length * 2 - 1);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) pieces[i * 2 - 1] = SEPARATOR;
    pieces[i * 2] = parts[i]!;
  }
  return Buffer.concat(pieces);
}
