/**
 * A viewer of an XState v4 app (issue 14.3): `@xstate/inspect`'s `inspectServer` makes the app a
 * WebSocket server that viewers dial; the bridge dials it, asks for its services
 * (`xstate.inspecting`), and publishes what it hears into the relay as one more producer.
 *
 * Its messages go through the relay's producer checks like any producer's (depth, size,
 * redaction, ids labelled `v4-8888/x:1`, byte-bounded history). A frame that is too large, too
 * deep, not JSON or a `service.*` frame without what it must carry drops the connection with a
 * close code and an `RtmError` (`PROTOCOL_ERROR`) reported through `onStatus`; the bridge then
 * dials again after a backoff, as it does when the app restarts. `close()` stops it for good.
 */
import WebSocket, { type RawData } from 'ws';
import { RtmError } from '../../src/errors.js';
import type { ProducerHandle, Relay } from './relay.js';
import { jsonTextTooDeep } from './sanitize.js';
import { createV4ServiceMemory, translateV4Frame } from './v4-translate.js';

export interface XStateV4BridgeOptions {
  /** The app's `@xstate/inspect` server, `ws://127.0.0.1:8888`. */
  url: string;
  /** The prefix of its actor ids on the page (default `v4-<port>`, so a restart keeps them). */
  label?: string;
  /** First wait before dialling again (default 500 ms); it doubles up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  /** Longest wait between two dials (default 5 000 ms). */
  maxReconnectDelayMs?: number;
  /** Largest frame accepted from the app (default 4 MiB); a larger one drops the connection (1009). */
  maxFrameBytes?: number;
  /** Told every change: dialling, open, waiting to dial again (with why), closed. */
  onStatus?: (status: XStateV4BridgeStatus) => void;
}

export type XStateV4BridgeState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface XStateV4BridgeStatus {
  state: XStateV4BridgeState;
  /** Why the connection ended (`connect ECONNREFUSED …`, `closed 1006`). */
  reason?: string;
  /** Set when the app sent what the bridge refuses. */
  error?: RtmError;
}

export interface XStateV4Bridge {
  readonly url: string;
  /** The relay label of its actors (`v4-8888/x:1`). */
  readonly label: string;
  readonly state: XStateV4BridgeState;
  /** Frames received and frames refused since the bridge started. */
  readonly framesReceived: number;
  readonly framesRefused: number;
  /** The last refusal, if any. */
  readonly lastError: RtmError | undefined;
  /** Stops dialling and closes the connection. */
  close(): Promise<void>;
}

const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Services remembered for `service.stop` (the relay bounds actors the same way). */
const SERVICE_MEMORY = 2_000;

function textOf(data: RawData): string {
  return Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RtmError('INVALID_ARGUMENT', `the @xstate/inspect server address '${text}' is not a URL (ws://host:port)`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new RtmError('INVALID_ARGUMENT', `the @xstate/inspect server address must be ws:// or wss://, got '${text}'`);
  }
  return url;
}

/** Dials an `@xstate/inspect` server and feeds its services into `relay`; throws `INVALID_ARGUMENT` for a bad URL. */
export function connectXStateV4(relay: Relay, options: XStateV4BridgeOptions): XStateV4Bridge {
  const url = parseUrl(options.url);
  const firstDelay = Math.max(10, options.reconnectDelayMs ?? 500);
  const maxDelay = Math.max(firstDelay, options.maxReconnectDelayMs ?? 5_000);
  const maxFrameBytes = Math.max(1024, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const port = url.port || (url.protocol === 'wss:' ? '443' : '80');
  const producer: ProducerHandle = relay.addProducer(options.label ?? `v4-${port}`);
  const memory = createV4ServiceMemory(SERVICE_MEMORY);

  let state: XStateV4BridgeState = 'connecting';
  let socket: WebSocket | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = firstDelay;
  let framesReceived = 0;
  let framesRefused = 0;
  let lastError: RtmError | undefined;

  const report = (status: XStateV4BridgeStatus): void => {
    state = status.state;
    try {
      options.onStatus?.(status);
    } catch {
      // A listener's failure is its own; the bridge goes on.
    }
  };

  /** Refuses what the app sent: counted, reported, and the connection dropped with `closeCode`. */
  const refuse = (ws: WebSocket, closeCode: number, reason: string): void => {
    framesRefused++;
    lastError = new RtmError('PROTOCOL_ERROR', `@xstate/inspect server ${url.href}: ${reason}`);
    pendingError = lastError;
    ws.close(closeCode, reason.length <= 120 ? reason : `${reason.slice(0, 119)}…`);
  };
  let pendingError: RtmError | undefined;

  const onFrame = (ws: WebSocket, data: RawData, isBinary: boolean): void => {
    framesReceived++;
    if (isBinary) return refuse(ws, 1003, 'binary frame (@xstate/inspect sends JSON text)');
    const text = textOf(data);
    if (jsonTextTooDeep(text, relay.maxDepth)) return refuse(ws, 1008, `frame nested deeper than ${relay.maxDepth} levels`);
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return refuse(ws, 1007, 'frame is not JSON');
    }
    const translated = translateV4Frame(frame, memory, Date.now(), relay.maxDepth);
    if (!translated.ok) return refuse(ws, 1008, translated.reason);
    for (const message of translated.messages) {
      const result = producer.publish(message);
      if (!result.ok) return refuse(ws, result.closeCode, result.reason);
    }
    // The app speaks the protocol: the next loss of it is retried quickly again.
    delay = firstDelay;
  };

  const dial = (): void => {
    retry = undefined;
    if (state === 'closed') return;
    report({ state: 'connecting' });
    pendingError = undefined;
    let failure: string | undefined;
    const ws = new WebSocket(url, { maxPayload: maxFrameBytes, handshakeTimeout: 10_000 });
    socket = ws;
    ws.on('open', () => {
      report({ state: 'open' });
      ws.send(JSON.stringify({ type: 'xstate.inspecting' }));
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== socket || ws.readyState !== WebSocket.OPEN) return;
      try {
        onFrame(ws, data, isBinary);
      } catch (error) {
        // Whatever went wrong stays with this connection: the process and everyone else go on.
        refuse(ws, 1011, `bridge error: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    ws.on('error', (error) => {
      failure = error.message;
      // ws closes the connection itself for an oversized frame (1009); count it as a refusal.
      if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        framesRefused++;
        lastError = pendingError = new RtmError('PROTOCOL_ERROR', `@xstate/inspect server ${url.href}: frame over ${maxFrameBytes} bytes`);
      }
    });
    ws.on('close', (code) => {
      if (ws !== socket) return;
      socket = null;
      if (state === 'closed') return;
      const wait = delay;
      delay = Math.min(maxDelay, delay * 2);
      report({ state: 'waiting', reason: failure ?? `closed ${code}`, ...(pendingError ? { error: pendingError } : {}) });
      retry = setTimeout(dial, wait);
      retry.unref?.();
    });
  };
  dial();

  return {
    url: url.href,
    label: producer.label,
    get state() {
      return state;
    },
    get framesReceived() {
      return framesReceived;
    },
    get framesRefused() {
      return framesRefused;
    },
    get lastError() {
      return lastError;
    },
    async close() {
      if (state === 'closed') return;
      clearTimeout(retry);
      report({ state: 'closed' });
      const ws = socket;
      socket = null;
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.terminate();
        });
      }
      producer.release();
    },
  };
}
