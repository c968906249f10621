/**
 * The inspection stream as it travels on the wire: the JSON form that `@statelyai/inspect`
 * (`createWebSocketInspector`) sends, which the relay also produces from in-process XState
 * inspection events (convert.ts). Pages receive these messages unchanged, in batches.
 *
 * Two optional extensions, ignored by other consumers: `_delays` (named delays resolved to
 * milliseconds for the actor's current context) and `_receivedAt` (stamped by the relay).
 */

export interface BaseMessage {
  sessionId: string;
  rootId?: string;
  createdAt?: string;
  _version?: string;
  /** Epoch ms at which the relay received the message (the page's clock for countdowns). */
  _receivedAt?: number;
}

export interface ActorMessage extends BaseMessage {
  type: '@xstate.actor';
  name?: string;
  parentId?: string;
  /** The machine config as a JSON string (functions replaced by `{ type: name }`), if a machine. */
  definition?: string;
  snapshot?: unknown;
  /** Named delays of the machine, in ms, resolved for the initial context. */
  _delays?: Record<string, number>;
}

export interface EventMessage extends BaseMessage {
  type: '@xstate.event';
  event: { type: string; [key: string]: unknown };
  sourceId?: string;
}

export interface SnapshotMessage extends BaseMessage {
  type: '@xstate.snapshot';
  event: { type: string; [key: string]: unknown };
  snapshot: unknown;
  _delays?: Record<string, number>;
}

export type InspectionMessage = ActorMessage | EventMessage | SnapshotMessage;

/** What the relay sends to a page. */
export type PageFrame =
  | {
      t: 'hello';
      now: number;
      demo: boolean;
      historyLimit: number;
      /** Whether this page may send events to the server's own actors (issue 15.1). */
      serverEvents?: boolean;
    }
  | { t: 'items'; items: InspectionMessage[] }
  /**
   * A remote producer connected or went away (issue 15.4): the page marks every actor under
   * `label/` stale while it is gone. A page opened later is sent one for each producer that is
   * gone but whose actors the relay still remembers, right after the history.
   */
  | { t: 'producer'; label: string; connected: boolean; at: number }
  /** The answer to a page's `{t:'send', id, …}` request (issue 15.1). */
  | { t: 'sent'; id: number | null; ok: boolean; code?: string; message?: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Accepts one decoded JSON value from a producer and returns it as an InspectionMessage, or null
 * when it is not one (other `@xstate.*` kinds, foreign frames). Only the fields the page relies
 * on are checked; the rest travels as is.
 */
export function toInspectionMessage(value: unknown): InspectionMessage | null {
  if (!isRecord(value) || typeof value.sessionId !== 'string' || value.sessionId.length === 0) return null;
  switch (value.type) {
    case '@xstate.actor':
      if (value.definition !== undefined && typeof value.definition !== 'string') return null;
      return value as unknown as ActorMessage;
    case '@xstate.event':
      if (!isRecord(value.event) || typeof value.event.type !== 'string') return null;
      return value as unknown as EventMessage;
    case '@xstate.snapshot':
      if (!isRecord(value.snapshot)) return null;
      if (!isRecord(value.event)) value.event = { type: '' };
      return value as unknown as SnapshotMessage;
    default:
      return null;
  }
}
