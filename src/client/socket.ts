/**
 * The WebSocket underneath a link, seen through the small surface that browsers' WebSocket,
 * Node's global WebSocket and `ws` all share. Frames go out coalesced per tick (one WebSocket
 * message may carry several frames, see `joinFrames`), split so that no message passes
 * MAX_CLIENT_MESSAGE_BYTES or MAX_FRAMES_PER_MESSAGE, and come in decoded and validated.
 */
import {
  CloseCode,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_FRAMES_PER_MESSAGE,
  SUBPROTOCOL,
  decodeServerFrame,
  encodeFrame,
  joinFrames,
  splitFrames,
  utf8Length,
  type ClientFrame,
  type ServerFrame,
} from '../protocol/client.js';

/** A client frame already turned into text, with its size in UTF-8 bytes (what the server counts). */
export interface EncodedFrame {
  readonly text: string;
  readonly bytes: number;
}

export function encodeOutgoing(frame: ClientFrame): EncodedFrame {
  const text = encodeFrame(frame);
  return { text, bytes: utf8Length(text) };
}

function isEncoded(frame: ClientFrame | EncodedFrame): frame is EncodedFrame {
  return typeof (frame as EncodedFrame).text === 'string' && typeof (frame as EncodedFrame).bytes === 'number';
}

/** What the client needs from a WebSocket object. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

const OPEN = 1;

/** `ws`, once loaded: every later dial uses the same constructor without importing again. */
let loadedWs: Promise<WebSocketConstructor> | null = null;

/**
 * The WebSocket implementation to dial with: the one given, else the global one (browsers,
 * Node ≥ 22), else `ws` loaded on demand (once per process), so that no Node module is
 * imported at the top level and the same code path bundles for the browser.
 */
export async function resolveWebSocket(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (given) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  loadedWs ??= loadWs();
  try {
    return await loadedWs;
  } catch (error) {
    // Not cached: a later dial tries again.
    loadedWs = null;
    throw error;
  }
}

/**
 * How the client opens a `ws` socket: without offering permessage-deflate, which the RTM server
 * never accepts (frames are small JSON), so the offer is only work: an extension header to
 * build, send and parse on every dial. Exported for applications that pass their own `ws`
 * subclass as `options.WebSocket` and want it to dial the same way.
 */
export const WS_CLIENT_OPTIONS: Readonly<{ perMessageDeflate: boolean }> = Object.freeze({ perMessageDeflate: false });

type WsConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

async function loadWs(): Promise<WebSocketConstructor> {
  const wsModuleName = 'ws';
  const mod = (await import(/* @vite-ignore */ wsModuleName)) as { WebSocket?: WsConstructor; default?: WsConstructor };
  const Base = mod.WebSocket ?? mod.default;
  if (!Base) throw new Error('no WebSocket implementation available: pass options.WebSocket');
  return class extends Base {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, WS_CLIENT_OPTIONS);
    }
  };
}

export interface FrameSocketHandlers {
  onOpen(): void;
  onFrame(frame: ServerFrame): void;
  /** The socket closed, failed, or broke the protocol; called at most once. */
  onClose(code: number): void;
}

const noop = () => undefined;

/** One WebSocket speaking the RTM protocol. */
export class FrameSocket {
  private outgoing: string[] = [];
  /** UTF-8 size of each frame in `outgoing`, and their sum. */
  private outgoingSizes: number[] = [];
  private outgoingBytes = 0;
  private closed = false;

  constructor(
    private readonly ws: WebSocketLike,
    private readonly handlers: FrameSocketHandlers,
  ) {
    ws.onopen = () => this.handlers.onOpen();
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.finish(event.code);
    // `ws` and browsers follow an error with a close event; the close is what counts.
    ws.onerror = noop;
  }

  static open(ctor: WebSocketConstructor, url: string, handlers: FrameSocketHandlers): FrameSocket {
    return new FrameSocket(new ctor(url, SUBPROTOCOL), handlers);
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === OPEN;
  }

  /**
   * Queues a frame (or one the caller has encoded already, to measure it first); everything
   * queued in one tick leaves as one WebSocket message, or as few as the limits allow.
   */
  send(frame: ClientFrame | EncodedFrame): boolean {
    if (!this.isOpen) return false;
    const encoded = isEncoded(frame) ? frame : encodeOutgoing(frame);
    this.outgoing.push(encoded.text);
    this.outgoingSizes.push(encoded.bytes);
    this.outgoingBytes += encoded.bytes;
    if (this.outgoing.length === 1) queueMicrotask(() => this.flush());
    return true;
  }

  /** Sends what is queued, then closes. No handler is called afterwards. */
  close(code: number = CloseCode.NORMAL): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.detach();
    try {
      this.ws.close(code);
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone either way.
    }
  }

  private flush(): void {
    const frames = this.outgoing;
    if (frames.length === 0) return;
    const sizes = this.outgoingSizes;
    // Each separator is one byte.
    const total = this.outgoingBytes + frames.length - 1;
    this.outgoing = [];
    this.outgoingSizes = [];
    this.outgoingBytes = 0;
    if (!this.isOpen) return;
    if (total <= MAX_CLIENT_MESSAGE_BYTES && frames.length <= MAX_FRAMES_PER_MESSAGE) {
      return this.write(joinFrames(frames)); // the usual case: one message a tick
    }
    let first = 0;
    let bytes = sizes[0]!;
    for (let i = 1; i < frames.length; i++) {
      if (bytes + 1 + sizes[i]! > MAX_CLIENT_MESSAGE_BYTES || i - first >= MAX_FRAMES_PER_MESSAGE) {
        this.write(joinFrames(frames.slice(first, i)));
        first = i;
        bytes = sizes[i]!;
      } else {
        bytes += 1 + sizes[i]!;
      }
    }
    this.write(joinFrames(frames.slice(first)));
  }

  private write(message: string): void {
    if (!this.isOpen) return;
    try {
      this.ws.send(message);
    } catch {
      // A send racing a close: the close handler reports the loss.
    }
  }

  private receive(data: unknown): void {
    if (this.closed) return;
    if (typeof data !== 'string') return this.fail();
    for (const raw of splitFrames(data)) {
      const decoded = decodeServerFrame(raw);
      if (!decoded.ok) return this.fail();
      this.handlers.onFrame(decoded.frame);
      if (this.closed) return;
    }
  }

  /** A server that breaks the protocol is treated like a lost link. */
  private fail(): void {
    this.close(CloseCode.PROTOCOL_ERROR);
    this.handlers.onClose(CloseCode.PROTOCOL_ERROR);
  }

  private finish(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.outgoing = [];
    this.outgoingSizes = [];
    this.outgoingBytes = 0;
    this.detach();
    this.handlers.onClose(code);
  }

  private detach(): void {
    // Replaced, not removed: `ws` throws on an 'error' event nobody listens to.
    this.ws.onopen = noop;
    this.ws.onmessage = noop;
    this.ws.onclose = noop;
    this.ws.onerror = noop;
  }
}
