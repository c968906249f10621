/**
 * Turns the frames an `@xstate/inspect` server sends to its viewers (XState v4 apps) into the
 * page's model (messages.ts), the form `@statelyai/inspect` sends for v5 apps:
 *
 * - `service.register` (`machine`: the v4 StateNode definition as JSON text, `state`: the State
 *   as JSON text) → `@xstate.actor` with a v5-style definition the page can draw, and a
 *   `@xstate.snapshot` of that state;
 * - `service.state` → `@xstate.snapshot`; `service.event` → `@xstate.event`;
 * - `service.stop` → a final `@xstate.snapshot` whose status is `stopped`.
 *
 * v4 names a delayed transition's event `xstate.after(1000)#light.green` (or
 * `xstate.after(SLOW)#…` for a named delay); it becomes `after: { 1000: … }` in the definition
 * and `xstate.after.1000.light.green` in snapshots, as v5 names it, so the page counts it down
 * and restarts the count when it fires. A named delay's value is read from the `xstate.send` that
 * v4 lists in the state's actions when it starts the timer, so its countdown is exact too.
 *
 * Pure functions of their input: every text is checked for depth before it is parsed, and every
 * refusal says why. No Node APIs, no I/O.
 */
import type { ActorMessage, EventMessage, InspectionMessage, SnapshotMessage } from './messages.js';
import { jsonTextTooDeep } from './sanitize.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `xstate.after(1000)#light.green` → delay key `1000`, source state id `light.green`. */
const V4_AFTER_EVENT = /^xstate\.after\(([^()]+)\)#(.+)$/;

export const V4_PROTOCOL_VERSION = 'xstate-inspect/v4';

/** What a translated frame gives: messages for the relay, nothing (a frame the page does not need), or a refusal. */
export type V4Translation = { ok: true; messages: InspectionMessage[] } | { ok: false; reason: string };

/** The state of each v4 service the bridge has seen, so that `service.stop` can say where it stopped. */
export interface V4ServiceMemory {
  lastValue(sessionId: string): unknown;
  remember(sessionId: string, value: unknown): void;
  forget(sessionId: string): void;
}

/** `xstate.after(1000)#light.green` → `xstate.after.1000.light.green`; other types unchanged. */
export function v5EventType(v4Type: string): string {
  const match = V4_AFTER_EVENT.exec(v4Type);
  return match ? `xstate.after.${match[1]}.${match[2]}` : v4Type;
}

/**
 * The v4 StateNode definition (`machine.definition` as JSON) as a v5-style config: `on` split into
 * `on`, `after` (delayed) and `always` (v4's eventless `''`), guards as `guard: name`, targets as
 * v4 gives them (`#light.yellow`), ids kept (the page resolves `#id` targets by them).
 */
export function v4DefinitionToConfig(node: Json): Json {
  const config: Json = {};
  if (typeof node.id === 'string') config.id = node.id;
  if (typeof node.type === 'string') config.type = node.type;
  if (typeof node.initial === 'string') config.initial = node.initial;
  if (typeof node.description === 'string') config.description = node.description;
  if (node.context !== undefined) config.context = node.context;
  if (typeof node.history === 'string') config.history = node.history;
  if (isRecord(node.states) && Object.keys(node.states).length > 0) {
    const states: Json = {};
    for (const [key, child] of Object.entries(node.states)) states[key] = v4DefinitionToConfig(isRecord(child) ? child : {});
    config.states = states;
  }
  const on: Json = {};
  const after: Json = {};
  const always: Json[] = [];
  if (isRecord(node.on)) {
    for (const [eventType, list] of Object.entries(node.on)) {
      const transitions = (Array.isArray(list) ? list : [list]).filter(isRecord).map(v4Transition);
      if (eventType === '') always.push(...transitions);
      else {
        const delayed = V4_AFTER_EVENT.exec(eventType);
        if (delayed) after[delayed[1]!] = transitions;
        else on[eventType] = transitions;
      }
    }
  }
  if (Object.keys(on).length > 0) config.on = on;
  if (Object.keys(after).length > 0) config.after = after;
  if (always.length > 0) config.always = always;
  return config;
}

function v4Transition(transition: Json): Json {
  const out: Json = {};
  const targets = Array.isArray(transition.target) ? transition.target.filter((t): t is string => typeof t === 'string') : [];
  if (targets.length > 0) out.target = targets;
  const cond = transition.cond;
  const guard = typeof cond === 'string' ? cond : isRecord(cond) ? (typeof cond.name === 'string' ? cond.name : typeof cond.type === 'string' ? cond.type : undefined) : undefined;
  if (guard) out.guard = guard;
  return out;
}

/**
 * Named delays in ms, read from the timers a v4 state starts (`actions: [{ type: 'xstate.send',
 * id: 'xstate.after(SLOW)#…', delay: 200 }]`). Numeric delays need no entry: their key is their value.
 */
export function v4Delays(state: Json): Record<string, number> | undefined {
  if (!Array.isArray(state.actions)) return undefined;
  const delays: Record<string, number> = {};
  for (const action of state.actions) {
    if (!isRecord(action) || action.type !== 'xstate.send' || typeof action.id !== 'string') continue;
    const match = V4_AFTER_EVENT.exec(action.id);
    if (!match || /^\d+(\.\d+)?$/.test(match[1]!)) continue;
    if (typeof action.delay === 'number' && Number.isFinite(action.delay) && action.delay >= 0) delays[match[1]!] = action.delay;
  }
  return Object.keys(delays).length > 0 ? delays : undefined;
}

/** The v4 State as a v5 snapshot: value, context and status (`done` when it reached a final state). */
function v4Snapshot(state: Json): Json {
  return { value: state.value, context: state.context, status: state.done === true ? 'done' : 'active' };
}

/** The plain event of a v4 State (`state.event`, or the data of its SCXML `_event`), in v5 naming. */
function v4StateEvent(state: Json): { type: string; [key: string]: unknown } {
  const event = isRecord(state.event) ? state.event : isRecord(state._event) && isRecord(state._event.data) ? state._event.data : undefined;
  return plainEvent(event);
}

function plainEvent(event: Json | undefined): { type: string; [key: string]: unknown } {
  if (!event || typeof event.type !== 'string') return { type: '' };
  return { ...event, type: v5EventType(event.type) };
}

/** Parses JSON text from the v4 server after checking its depth; a refusal says which field. */
function parseInner(text: unknown, field: string, maxDepth: number): { ok: true; value: Json } | { ok: false; reason: string } {
  if (typeof text !== 'string') return { ok: false, reason: `${field} is not JSON text` };
  if (jsonTextTooDeep(text, maxDepth)) return { ok: false, reason: `${field} nested deeper than ${maxDepth} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${field} is not valid JSON` };
  }
  return isRecord(value) ? { ok: true, value } : { ok: false, reason: `${field} is not a JSON object` };
}

/**
 * Translates one decoded frame from an `@xstate/inspect` server. Frames that are not `service.*`
 * (`xstate.disconnect`, …) give no message; a `service.*` frame without what it must carry is
 * refused, and the bridge then drops the connection.
 */
export function translateV4Frame(frame: unknown, memory: V4ServiceMemory, now: number, maxDepth: number): V4Translation {
  if (!isRecord(frame) || typeof frame.type !== 'string') return { ok: false, reason: 'frame is not an object with a type' };
  if (!frame.type.startsWith('service.')) return { ok: true, messages: [] };
  const sessionId = frame.sessionId;
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 200) return { ok: false, reason: `${frame.type} without a valid sessionId` };
  const base = { sessionId, rootId: sessionId, createdAt: String(now), _version: V4_PROTOCOL_VERSION };
  switch (frame.type) {
    case 'service.register': {
      const machine = parseInner(frame.machine, 'service.register machine', maxDepth);
      if (!machine.ok) return machine;
      const state = parseInner(frame.state, 'service.register state', maxDepth);
      if (!state.ok) return state;
      const config = v4DefinitionToConfig(machine.value);
      memory.remember(sessionId, state.value.value);
      const name = typeof frame.id === 'string' && frame.id ? frame.id : typeof config.id === 'string' ? config.id : sessionId;
      const delays = v4Delays(state.value);
      const actor: ActorMessage = { ...base, type: '@xstate.actor', name, definition: JSON.stringify(config), snapshot: v4Snapshot(state.value), _delays: delays };
      // The register that answers `xstate.inspecting` comes with no `service.state`: its state
      // follows as a snapshot, so that a service registered again (the app restarted and its
      // session ids start over) is not shown in the state of the one it replaces.
      const current: SnapshotMessage = { ...base, type: '@xstate.snapshot', event: v4StateEvent(state.value), snapshot: v4Snapshot(state.value), _delays: delays };
      return { ok: true, messages: [actor, current] };
    }
    case 'service.state': {
      const state = parseInner(frame.state, 'service.state state', maxDepth);
      if (!state.ok) return state;
      memory.remember(sessionId, state.value.value);
      const snapshot: SnapshotMessage = { ...base, type: '@xstate.snapshot', event: v4StateEvent(state.value), snapshot: v4Snapshot(state.value), _delays: v4Delays(state.value) };
      return { ok: true, messages: [snapshot] };
    }
    case 'service.event': {
      const scxml = parseInner(frame.event, 'service.event event', maxDepth);
      if (!scxml.ok) return scxml;
      const data = isRecord(scxml.value.data) ? scxml.value.data : { type: typeof scxml.value.name === 'string' ? scxml.value.name : '' };
      const event: EventMessage = { ...base, type: '@xstate.event', event: plainEvent(data) };
      if (typeof scxml.value.origin === 'string') event.sourceId = scxml.value.origin;
      return { ok: true, messages: [event] };
    }
    case 'service.stop': {
      const value = memory.lastValue(sessionId);
      memory.forget(sessionId);
      const stopped: SnapshotMessage = { ...base, type: '@xstate.snapshot', event: { type: 'xstate.stop' }, snapshot: { value, status: 'stopped' } };
      return { ok: true, messages: [stopped] };
    }
    default:
      return { ok: true, messages: [] };
  }
}

/** Remembers the last state value of at most `limit` services; the least recently active go first. */
export function createV4ServiceMemory(limit: number): V4ServiceMemory {
  const values = new Map<string, unknown>();
  return {
    lastValue: (sessionId) => values.get(sessionId),
    remember(sessionId, value) {
      values.delete(sessionId);
      values.set(sessionId, value);
      if (values.size > limit) {
        const [oldest] = values.keys();
        if (oldest !== undefined) values.delete(oldest);
      }
    },
    forget: (sessionId) => void values.delete(sessionId),
  };
}
