/**
 * Reports a process's actors to an inspector relay with the exact values of named delays, which
 * `@statelyai/inspect` cannot send (it only has the machine config). Use it like that package:
 * `createActor(machine, { inspect: reporter.inspect })`, or `new RtmClient({ inspect })`.
 */
import WebSocket from 'ws';
import type { InspectionEvent } from 'xstate';
import { fromInspectionEvent } from './convert.js';
import type { InspectionMessage } from './messages.js';

export interface RelayReporter {
  inspect: (event: InspectionEvent) => void;
  /** Sends what is queued and closes the connection. */
  close(): Promise<void>;
}

export interface RelayReporterOptions {
  /** The relay URL (`server.inspector.relayUrl`), with `?token=` when the inspector needs one. */
  url: string;
  /** Messages kept while the relay is unreachable (default 5 000; the oldest are dropped). */
  bufferLimit?: number;
}

export function createRelayReporter(options: RelayReporterOptions): RelayReporter {
  const bufferLimit = options.bufferLimit ?? 5_000;
  let queue: InspectionMessage[] = [];
  let ws: WebSocket | null = null;
  let closed = false;
  let flushScheduled = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const flush = (): void => {
    flushScheduled = false;
    if (!ws || ws.readyState !== WebSocket.OPEN || queue.length === 0) return;
    ws.send(JSON.stringify(queue));
    queue = [];
  };
  const open = (): void => {
    if (closed) return;
    const socket = new WebSocket(options.url);
    ws = socket;
    socket.on('open', flush);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!closed) retry = setTimeout(open, 1_000).unref();
    });
  };
  open();

  return {
    inspect(event) {
      if (closed) return;
      let message: InspectionMessage | null;
      try {
        message = fromInspectionEvent(event);
      } catch {
        return;
      }
      if (!message) return;
      queue.push(message);
      if (queue.length > bufferLimit) queue.splice(0, queue.length - bufferLimit);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    async close() {
      flush();
      closed = true;
      clearTimeout(retry);
      const socket = ws;
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
    },
  };
}
