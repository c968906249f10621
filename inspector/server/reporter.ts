/**
 * Reports a process's actors to an inspector relay with the exact values of named delays, which
 * `@statelyai/inspect` cannot send (it only has the machine config). Use it like that package:
 * `createActor(machine, { inspect: reporter.inspect })`, or `new RtmClient({ inspect })`.
 * Secrets (the client's login token in `LOGIN`, token fields of context) are redacted by the
 * converter before they are queued, so they never leave this process (issue 12.3).
 */
import WebSocket from 'ws';
import type { InspectionEvent } from 'xstate';
import { fromInspectionEvent } from './convert.js';
import type { InspectionMessage } from './messages.js';
import { Registrations, RunningActors } from './registrations.js';

export interface RelayReporter {
  inspect: (event: InspectionEvent) => void;
  /** Sends what is queued and closes the connection. */
  close(): Promise<void>;
}

export interface RelayReporterOptions {
  /** The relay URL (`server.inspector.relayUrl`). */
  url: string;
  /** The inspector's access token, when it has one: sent as `Authorization: Bearer`, never in the URL. */
  token?: string;
  /**
   * The label the relay puts before this reporter's actor ids (`worker-1/x:0`); a reconnect
   * with the same label keeps them. Letters, digits, `-`, `_`; the relay picks one otherwise.
   */
  label?: string;
  /** Messages kept while the relay is unreachable (default 5 000; the oldest are dropped). */
  bufferLimit?: number;
  /**
   * Whether events sent from an inspector page are delivered to this process's actors (issue
   * 15.1). Default true: the relay only passes on what an authorised page asked for.
   */
  acceptEvents?: boolean;
}

export function createRelayReporter(options: RelayReporterOptions): RelayReporter {
  const bufferLimit = options.bufferLimit ?? 5_000;
  let queue: InspectionMessage[] = [];
  let ws: WebSocket | null = null;
  let closed = false;
  let flushScheduled = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  // Every live actor's registration, sent again on each reconnect: the relay may have
  // restarted and know none of them (issue 15.4).
  const registrations = new Registrations();
  const acceptEvents = options.acceptEvents ?? true;
  const running = new RunningActors();
  let connectedBefore = false;

  const flush = (): void => {
    flushScheduled = false;
    if (!ws || ws.readyState !== WebSocket.OPEN || queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      ws.send(JSON.stringify(batch));
    } catch {
      // An unserialisable batch is dropped here rather than thrown into the app being inspected.
    }
  };
  const open = (): void => {
    if (closed) return;
    const url = new URL(options.url);
    if (options.label) url.searchParams.set('producer', options.label);
    if (acceptEvents) url.searchParams.set('events', '1');
    const socket = new WebSocket(url, options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {});
    ws = socket;
    socket.on('open', () => {
      if (connectedBefore) {
        // Those still queued carry their own registrations; the others are re-sent first.
        const queued = new Set(queue.filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId));
        queue = [...registrations.current().filter((r) => !queued.has(r.sessionId)), ...queue];
      }
      connectedBefore = true;
      flush();
    });
    socket.on('error', () => undefined);
    socket.on('message', (data) => {
      if (acceptEvents) running.deliver(String(data));
    });
    socket.on('close', () => {
      if (!closed) retry = setTimeout(open, 1_000).unref();
    });
  };
  open();

  return {
    inspect(event) {
      if (closed) return;
      if (acceptEvents) running.follow(event);
      let message: InspectionMessage | null;
      try {
        message = fromInspectionEvent(event);
      } catch {
        return;
      }
      if (!message) return;
      registrations.note(message);
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

