/**
 * A machine definition (the config JSON an actor reports) as a graph the page can draw: state
 * nodes with their id paths, and transitions with resolved targets and readable labels. Targets
 * follow XState's rules: `#id.path` by id, `.child` below the source, `sibling` next to it.
 */

export interface StateNodeView {
  /** The id path: machine id and state keys joined with '.', e.g. `connection.CONNECTED.linkLost`. */
  id: string;
  /** XState's id for the node: its own `id` when the config gives one, else the id path. */
  xstateId: string;
  key: string;
  depth: number;
  parent: StateNodeView | null;
  children: StateNodeView[];
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initialKey: string | null;
  description: string | null;
  /** Transitions that change nothing but run actions, listed inside the node. */
  targetless: string[];
}

export interface DelaySpec {
  /** The key of the `after` entry: a number of ms as a string, or a delay name. */
  key: string;
  /** Set when the key is a number. */
  ms: number | null;
}

export interface TransitionView {
  id: string;
  source: StateNodeView;
  target: StateNodeView;
  /** The event type as XState names it (`xstate.after.loginTimeout.connection.CONNECTING` for delays). */
  eventType: string;
  /** What the edge says: `LOGIN`, `after 6 s`, `after loginTimeout`, with `[guard]`. */
  event: string;
  guard: string | null;
  delay: DelaySpec | null;
}

export interface MachineGraph {
  id: string;
  root: StateNodeView;
  nodes: Map<string, StateNodeView>;
  transitions: TransitionView[];
  /** Event types each state handles in `on` (targetless ones too), by state id: what a page may send. */
  handledEvents: Map<string, string[]>;
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function nameOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.type === 'string') return value.type;
  return null;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 1 : 0)} s`;
}

export function delayLabel(delay: DelaySpec, resolvedMs: number | undefined): string {
  if (delay.ms !== null) return `after ${formatMs(delay.ms)}`;
  return resolvedMs === undefined ? `after ${delay.key}` : `after ${delay.key} (${formatMs(resolvedMs)})`;
}

export function parseDefinition(definition: string | Json): MachineGraph {
  const config = typeof definition === 'string' ? (JSON.parse(definition) as Json) : definition;
  const machineId = typeof config.id === 'string' && config.id ? config.id : '(machine)';
  const nodes = new Map<string, StateNodeView>();
  const byCustomId = new Map<string, StateNodeView>();
  const configs = new Map<StateNodeView, Json>();

  const build = (cfg: Json, key: string, parent: StateNodeView | null): StateNodeView => {
    const id = parent ? `${parent.id}.${key}` : machineId;
    const states = isRecord(cfg.states) ? cfg.states : {};
    const childKeys = Object.keys(states);
    const declared = typeof cfg.type === 'string' ? cfg.type : null;
    const type: StateNodeView['type'] =
      declared === 'parallel' || declared === 'final' || declared === 'history' ? declared : childKeys.length > 0 ? 'compound' : 'atomic';
    const node: StateNodeView = {
      id,
      xstateId: parent && typeof cfg.id === 'string' ? cfg.id : id,
      key,
      depth: parent ? parent.depth + 1 : 0,
      parent,
      children: [],
      type,
      initialKey: typeof cfg.initial === 'string' ? cfg.initial : type === 'compound' ? (childKeys[0] ?? null) : null,
      description: typeof cfg.description === 'string' ? cfg.description : null,
      targetless: [],
    };
    nodes.set(id, node);
    configs.set(node, cfg);
    if (typeof cfg.id === 'string' && parent) byCustomId.set(cfg.id, node);
    for (const childKey of childKeys) {
      const child = states[childKey];
      node.children.push(build(isRecord(child) ? child : {}, childKey, node));
    }
    return node;
  };
  const root = build(config, machineId, null);
  byCustomId.set(machineId, root);

  const descend = (from: StateNodeView, path: string[]): StateNodeView | null => {
    let node: StateNodeView | undefined = from;
    for (const key of path) {
      node = node?.children.find((c) => c.key === key);
      if (!node) return null;
    }
    return node ?? null;
  };

  const resolveTarget = (source: StateNodeView, target: string): StateNodeView | null => {
    if (target.startsWith('#')) {
      const ref = target.slice(1);
      const direct = nodes.get(ref) ?? byCustomId.get(ref);
      if (direct) return direct;
      const [first = '', ...rest] = ref.split('.');
      const base = byCustomId.get(first) ?? (first === machineId ? root : undefined);
      return base ? descend(base, rest) : null;
    }
    if (target.startsWith('.')) return descend(source, target.slice(1).split('.'));
    return descend(source.parent ?? source, target.split('.'));
  };

  const transitions: TransitionView[] = [];
  const handledEvents = new Map<string, string[]>();
  const addTransitions = (source: StateNodeView, eventType: string, event: string, delay: DelaySpec | null, value: unknown): void => {
    const list = Array.isArray(value) ? value : [value];
    for (const item of list) {
      if (item === undefined || item === null) continue;
      const cfg: Json = typeof item === 'string' ? { target: item } : isRecord(item) ? item : {};
      const guard = nameOf(cfg.guard) ?? nameOf(cfg.cond);
      const targets = cfg.target === undefined ? [] : Array.isArray(cfg.target) ? cfg.target : [cfg.target];
      const resolved = targets.filter((t): t is string => typeof t === 'string').map((t) => resolveTarget(source, t)).filter((t): t is StateNodeView => t !== null);
      const label = guard ? `${event} [${guard}]` : event;
      if (resolved.length === 0) {
        source.targetless.push(label);
        continue;
      }
      for (const target of resolved) {
        transitions.push({ id: `t${transitions.length}`, source, target, eventType, event: label, guard, delay });
      }
    }
  };

  for (const [node, cfg] of configs) {
    if (isRecord(cfg.on)) {
      for (const [eventType, value] of Object.entries(cfg.on)) {
        addTransitions(node, eventType, eventType, null, value);
        if (eventType !== '*' && !eventType.startsWith('xstate.')) handledEvents.set(node.id, [...(handledEvents.get(node.id) ?? []), eventType]);
      }
    }
    if (isRecord(cfg.after)) {
      for (const [key, value] of Object.entries(cfg.after)) {
        const ms = /^\d+(\.\d+)?$/.test(key) ? Number(key) : null;
        addTransitions(node, `xstate.after.${key}.${node.xstateId}`, `after ${key}`, { key, ms }, value);
      }
    }
    if (cfg.always !== undefined) addTransitions(node, '', 'always', null, cfg.always);
    if (cfg.onDone !== undefined) addTransitions(node, `xstate.done.state.${node.xstateId}`, 'done', null, cfg.onDone);
    const invokes = Array.isArray(cfg.invoke) ? cfg.invoke : cfg.invoke === undefined ? [] : [cfg.invoke];
    for (const invoke of invokes) {
      if (!isRecord(invoke)) continue;
      const src = nameOf(invoke.src) ?? 'invoke';
      if (invoke.onDone !== undefined) addTransitions(node, `xstate.done.actor.${String(invoke.id ?? src)}`, `done: ${src}`, null, invoke.onDone);
      if (invoke.onError !== undefined) addTransitions(node, `xstate.error.actor.${String(invoke.id ?? src)}`, `error: ${src}`, null, invoke.onError);
    }
  }
  return { id: machineId, root, nodes, transitions, handledEvents };
}

/** The id paths of every active state node for a snapshot `value` (string or nested object). */
export function activeStateIds(graph: MachineGraph, value: unknown): Set<string> {
  const active = new Set<string>([graph.root.id]);
  const visit = (node: StateNodeView, v: unknown): void => {
    if (typeof v === 'string') {
      const child = node.children.find((c) => c.key === v);
      if (child) {
        active.add(child.id);
        // An atomic value for a compound child means its initial state (should not happen in v5).
      }
      return;
    }
    if (isRecord(v)) {
      for (const [key, sub] of Object.entries(v)) {
        const child = node.children.find((c) => c.key === key);
        if (!child) continue;
        active.add(child.id);
        visit(child, sub);
      }
    }
  };
  visit(graph.root, value);
  return active;
}

/** `{ CONNECTED: 'linkLost' }` → `CONNECTED.linkLost`; parallel regions joined with ', '. */
export function stateValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return value === undefined ? '' : JSON.stringify(value);
  const parts = Object.entries(value).map(([key, sub]) => {
    const rest = stateValueText(sub);
    return rest && !(isRecord(sub) && Object.keys(sub).length === 0) ? `${key}.${rest}` : key;
  });
  return parts.length === 1 ? (parts[0] ?? '') : `{${parts.join(', ')}}`;
}
