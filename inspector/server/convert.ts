/**
 * Turns XState's in-process inspection events into the serialisable wire form of
 * messages.ts, the same form `@statelyai/inspect` sends. Used by the relay for the server's own
 * actors and by the page for actors running in the browser. No Node APIs here.
 */
import type { InspectionEvent } from 'xstate';
import type { InspectionMessage } from './messages.js';
import { isSecret, REDACTED } from './sanitize.js';

const PROTOCOL_VERSION = 'rtm-statechart/1';

/**
 * JSON-safe copy: functions become `{ type: name }`, cycles and depth are cut, toJSON is
 * honoured, and secrets (token fields, JWTs) are redacted, so that no credential leaves the
 * process through the inspection stream (issue 12.3).
 */
export function toPlain(value: unknown, depthLimit = 10): unknown {
  const ancestors = new Set<object>();
  const visit = (v: unknown, depth: number, key?: string): unknown => {
    if (typeof v === 'string') return isSecret(key, v) ? REDACTED : v;
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'undefined' || typeof v === 'symbol') return undefined;
    if (typeof v === 'function') return { type: v.name || 'anonymous' };
    const obj = v as Record<string, unknown> & { toJSON?: () => unknown };
    if (ancestors.has(obj)) return '[Circular]';
    if (depth >= depthLimit) return '[…]';
    if (typeof obj.toJSON === 'function') {
      let json: unknown;
      try {
        json = obj.toJSON();
      } catch {
        return '[unserialisable]';
      }
      if (json !== obj) return visit(json, depth, key);
    }
    ancestors.add(obj);
    try {
      if (obj instanceof Error) return { name: obj.name, message: obj.message };
      if (obj instanceof Map) return [...obj.entries()].map((e) => visit(e, depth + 1));
      if (obj instanceof Set || Array.isArray(obj)) return [...(obj as Iterable<unknown>)].map((e) => visit(e, depth + 1) ?? null);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj)) {
        const plain = visit(obj[key], depth + 1, key);
        if (plain !== undefined) out[key] = plain;
      }
      return out;
    } finally {
      ancestors.delete(obj);
    }
  };
  return visit(value, 0);
}

interface ActorInternals {
  sessionId: string;
  id?: string;
  _parent?: ActorInternals;
  logic?: { config?: { id?: string }; implementations?: { delays?: Record<string, unknown> } };
  getSnapshot?: () => unknown;
}

/**
 * Named delays of a machine actor resolved for its current context, so that a page can count
 * `after: { loginTimeout: … }` down without knowing the machine's implementation.
 */
export function resolveDelays(actorRef: unknown, snapshot: unknown, event: unknown): Record<string, number> | undefined {
  const delays = (actorRef as ActorInternals).logic?.implementations?.delays;
  if (!delays || Object.keys(delays).length === 0) return undefined;
  const context = (snapshot as { context?: unknown } | undefined)?.context;
  const resolved: Record<string, number> = {};
  for (const [name, delay] of Object.entries(delays)) {
    try {
      const ms = typeof delay === 'function' ? (delay as (args: unknown, params: unknown) => unknown)({ context, event: event ?? { type: '' } }, undefined) : delay;
      if (typeof ms === 'number' && Number.isFinite(ms)) resolved[name] = ms;
    } catch {
      // A delay that cannot be evaluated for this context is shown without a countdown.
    }
  }
  return Object.keys(resolved).length > 0 ? resolved : undefined;
}

/** Returns null for the kinds the page does not show (microsteps, actions, transitions). */
/** How actors are named on the wire; the default keeps XState's session ids as they are. */
export type ActorNamer = (actorRef: ActorInternals, sessionId: string) => string;

const keepSessionId: ActorNamer = (_ref, sessionId) => sessionId;

export function fromInspectionEvent(inspectionEvent: InspectionEvent, now = Date.now(), nameActor: ActorNamer = keepSessionId): InspectionMessage | null {
  const actorRef = inspectionEvent.actorRef as unknown as ActorInternals;
  const idOf = (ref: ActorInternals | undefined): string | undefined => (ref ? nameActor(ref, ref.sessionId) : undefined);
  const base = { sessionId: nameActor(actorRef, actorRef.sessionId), rootId: nameActor(actorRef, inspectionEvent.rootId), createdAt: String(now), _version: PROTOCOL_VERSION };
  switch (inspectionEvent.type) {
    case '@xstate.actor': {
      const config = actorRef.logic?.config;
      // Reported from the actor's constructor, the snapshot may not exist yet (and the
      // development build of XState throws when asked for it then).
      let snapshot: unknown;
      try {
        snapshot = actorRef.getSnapshot?.();
      } catch {
        snapshot = undefined;
      }
      const name = actorRef.id && actorRef.id !== actorRef.sessionId ? actorRef.id : (config?.id ?? actorRef.sessionId);
      return {
        ...base,
        type: '@xstate.actor',
        name,
        parentId: idOf(actorRef._parent),
        definition: config && typeof config === 'object' ? JSON.stringify(toPlain(config, 30)) : undefined,
        snapshot: toPlain(snapshot),
        _delays: resolveDelays(actorRef, snapshot, undefined),
      };
    }
    case '@xstate.event':
      return {
        ...base,
        type: '@xstate.event',
        event: toPlain(inspectionEvent.event) as { type: string },
        sourceId: idOf(inspectionEvent.sourceRef as unknown as ActorInternals | undefined),
      };
    case '@xstate.snapshot':
      return {
        ...base,
        type: '@xstate.snapshot',
        event: toPlain(inspectionEvent.event) as { type: string },
        snapshot: toPlain(inspectionEvent.snapshot),
        _delays: resolveDelays(actorRef, inspectionEvent.snapshot, inspectionEvent.event),
      };
    default:
      return null;
  }
}
