/**
 * Reports actors running in this page (the demo clients) to the relay, like any other
 * producer, so every open inspector page sees them. Messages are batched per tick.
 */
import type { InspectionEvent } from 'xstate';
import { fromInspectionEvent } from '../server/convert.js';
import type { InspectionMessage } from '../server/messages.js';
import { Registrations, RunningActors } from '../server/registrations.js';

export interface PageProducer {
  inspect: (event: InspectionEvent) => void;
  /** The id the relay shows for a local actor's session id. */
  idOf(sessionId: string): string;
}

export function createPageProducer(): PageProducer {
  // Every page starts XState's numbering at x:0, like the server: the relay shows this tab's
  // actors under the label it asks for (`tab-xxxx/x:0`), and the cookie authenticates it.
  const label = `tab-${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `${label}/`;
  const url = new URL('/inspector/relay', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('producer', label);
  // The demo clients take events sent from any inspector page (issue 15.1).
  url.searchParams.set('events', '1');
  const running = new RunningActors();
  let ws: WebSocket | null = null;
  let queue: InspectionMessage[] = [];
  let flushScheduled = false;
  // Sent again on every reconnect, for a relay that restarted (issue 15.4).
  const registrations = new Registrations();
  let connectedBefore = false;

  const flush = (): void => {
    flushScheduled = false;
    if (!ws || ws.readyState !== WebSocket.OPEN || queue.length === 0) return;
    ws.send(JSON.stringify(queue));
    queue = [];
  };
  const open = (): void => {
    ws = new WebSocket(url);
    ws.onopen = () => {
      if (connectedBefore) {
        const queued = new Set(queue.filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId));
        queue = [...registrations.current().filter((r) => !queued.has(r.sessionId)), ...queue];
      }
      connectedBefore = true;
      flush();
    };
    ws.onclose = () => setTimeout(open, 1000);
    ws.onmessage = (message) => void running.deliver(String(message.data));
  };
  open();

  return {
    idOf: (sessionId) => `${prefix}${sessionId}`,
    inspect(event) {
      running.follow(event);
      let message: InspectionMessage | null = null;
      try {
        message = fromInspectionEvent(event);
      } catch {
        return;
      }
      if (!message) return;
      registrations.note(message);
      queue.push(message);
      if (queue.length > 5_000) queue.splice(0, queue.length - 5_000);
      if (!flushScheduled) {
        flushScheduled = true;
        setTimeout(flush, 0);
      }
    },
  };
}
