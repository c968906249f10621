/**
 * Model-based testing helpers: paths generated from a statechart with `xstate/graph`, replayed
 * against a real system. Each machine event is mapped by the caller to a real action (a
 * login, a network cut, a kick by a second client, waiting out a delay…); after each step the
 * caller checks that the real system reports the state the model predicts. Coverage is
 * measured on the real actor (its microsteps), so a transition added to the machine without a
 * mapping makes `uncoveredTransitions` non-empty.
 */
import {
  createActor,
  SimulatedClock,
  type AnyActorLogic,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type EventObject,
  type InspectionEvent,
  type StateValue,
} from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { connectionMachine, type ConnectionEvent } from '../../machines/connection.machine.js';
import type { LinkMachineEvent } from '../../machines/link.machine.js';
import { resolveTiming } from '../../machines/timing.js';

/** A machine event, or "the delay ran out" (`xstate.after.<delay>.<state id>`). */
export type ModelEvent = ConnectionEvent | LinkMachineEvent | { type: `xstate.after.${string}` };

export interface ModelStep {
  event: ModelEvent;
  /** The state before and after the step, as the model predicts it. */
  from: StateValue;
  to: StateValue;
  /** Keys (see `transitionKey`) of the transitions the step takes in the model. */
  transitions: string[];
  /** What the model emits during the step (for connectionMachine: ConnectionStateChanged, TokenExpired). */
  emitted: EventObject[];
}

export interface ModelPath {
  /** One line that names the steps, for test titles. */
  description: string;
  steps: ModelStep[];
}

/** The stimuli for connectionMachine: every event a user or the network can cause, each guard both ways. */
export const connectionStimuli: readonly ModelEvent[] = [
  { type: 'LOGIN', uid: 'model-user', token: 'token-1' },
  { type: 'LOGOUT' },
  { type: 'RENEW_TOKEN', token: 'token-2' },
  { type: 'LINK_UP', sessionExpired: false },
  { type: 'LINK_UP', sessionExpired: true },
  { type: 'LINK_DOWN' },
  { type: 'LOGIN_REJECTED', code: 'INVALID_TOKEN' },
  { type: 'LOGIN_REJECTED', code: 'TOKEN_EXPIRED' },
  { type: 'TOKEN_EXPIRED' },
  { type: 'KICKED', reason: 'REMOTE_LOGIN' },
  { type: 'KICKED', reason: 'BANNED_BY_SERVER' },
];

const modelGrant = { sessionId: 'model-session', heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000 };

/**
 * The stimuli for linkMachine: the connection machine's commands and everything the socket can
 * report, each refusal code the link tells apart (and one it does not).
 */
export const linkStimuli: readonly ModelEvent[] = [
  { type: 'OPEN', uid: 'model-user', token: 'token-1', timing: resolveTiming() },
  { type: 'CLOSE' },
  { type: 'RENEW_TOKEN', token: 'token-2' },
  { type: 'CONNECTION_PHASE', reconnecting: true },
  { type: 'SOCKET_OPEN' },
  { type: 'SOCKET_CLOSED', code: 1006 },
  { type: 'GRANTED', grant: { ...modelGrant, sessionExpired: false } },
  { type: 'GRANTED', grant: { ...modelGrant, sessionExpired: true } },
  { type: 'REFUSED', code: 'INVALID_TOKEN' },
  { type: 'REFUSED', code: 'TOKEN_EXPIRED' },
  { type: 'REFUSED', code: 'SESSION_EXPIRED' },
  { type: 'REFUSED', code: 'REJECTED' },
  { type: 'REFUSED', code: 'TOO_OFTEN' },
  { type: 'KICK', reason: 'REMOTE_LOGIN' },
  { type: 'SILENT', silentMs: 3000 },
  { type: 'PROGRESS' },
  { type: 'STALLED' },
];

/**
 * The link's state for path generation: its value and the facts its guards read (the failure
 * count only as "none, one, more", so that backing off in a loop is a finite graph).
 */
export function serializeLinkState(snapshot: { value: StateValue; context: Record<string, unknown> }): string {
  const c = snapshot.context;
  return JSON.stringify([
    snapshot.value,
    c['sessionId'] !== null,
    c['mustRestore'],
    c['token'],
    c['attemptToken'] === c['token'],
    c['reconnecting'],
    Math.min(Number(c['failures']), 2),
  ]);
}

/** A stable name for a transition: `source --EVENT--> [n]` (n: its place among the event's candidates). */
export function transitionKey(transition: AnyTransitionDefinition): string {
  const candidates = transition.source.transitions.get(transition.eventType) ?? [];
  return `${transition.source.id} --${transition.eventType}--> [${candidates.indexOf(transition)}]`;
}

/** Every transition written in the machine's definition, delayed ones included. */
export function definedTransitions(machine: AnyStateMachine = connectionMachine): string[] {
  const keys: string[] = [];
  const walk = (node: AnyStateNode) => {
    for (const transitions of node.transitions.values()) for (const t of transitions) keys.push(transitionKey(t));
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(machine.root);
  return keys;
}

/** Every state node id of the machine. */
export function definedStates(machine: AnyStateMachine = connectionMachine): string[] {
  const ids: string[] = [];
  const walk = (node: AnyStateNode) => {
    ids.push(node.id);
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(machine.root);
  return ids;
}

/**
 * Records transitions and states from an actor's inspection stream (pass `recorder.inspect` to
 * createActor): the actor's and those of the actors it invokes, such as the link. `onTransition`
 * hears each transition as it is taken, with the snapshot it led to.
 */
export class CoverageRecorder {
  readonly transitions = new Set<string>();
  readonly states = new Set<string>();

  constructor(private readonly onTransition?: (key: string, snapshot: { value: StateValue }) => void) {}

  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep') return;
    const microstep = event as InspectionEvent & { _transitions: AnyTransitionDefinition[] };
    for (const t of microstep._transitions) {
      const key = transitionKey(t);
      this.transitions.add(key);
      this.onTransition?.(key, event.snapshot as unknown as { value: StateValue });
    }
    const nodes = (event.snapshot as unknown as { _nodes?: AnyStateNode[] })._nodes ?? [];
    for (const node of nodes) this.states.add(node.id);
  };

  uncoveredTransitions(machine: AnyStateMachine = connectionMachine): string[] {
    return definedTransitions(machine).filter((key) => !this.transitions.has(key));
  }

  unvisitedStates(machine: AnyStateMachine = connectionMachine): string[] {
    return definedStates(machine).filter((id) => !this.states.has(id) && id !== machine.root.id);
  }
}

export interface PathGenerationOptions {
  /** The events to try in each state (default: `connectionStimuli` plus every pending delay). */
  stimuli?: readonly ModelEvent[];
  /** Machine input (e.g. `{ timing }`). */
  input?: unknown;
  /** What makes two states different for the traversal (default: value and context). */
  serializeState?: (snapshot: { value: StateValue; context: Record<string, unknown> }) => string;
}

type AnySnapshot = { value: StateValue; context: Record<string, unknown>; _nodes?: AnyStateNode[] };

function eventsFor(stimuli: readonly ModelEvent[]) {
  return (snapshot: AnySnapshot): ModelEvent[] => {
    const delayed = (snapshot._nodes ?? []).flatMap((node) =>
      node.after.map((t) => ({ type: t.eventType as `xstate.after.${string}` })),
    );
    return [...stimuli, ...delayed];
  };
}

const serializeState = (snapshot: AnySnapshot) => JSON.stringify([snapshot.value, snapshot.context]);

/** Replays events on a machine with a clock that never moves; delays are taken by sending their events. */
function replayModel(machine: AnyStateMachine, input: unknown, events: readonly ModelEvent[]): ModelStep[] {
  let current: string[] = [];
  const actor = createActor(machine, {
    input,
    clock: new SimulatedClock(),
    inspect: (event) => {
      // The machine's own steps, not those of the actors it invokes (the link has its own paths).
      if (event.type !== '@xstate.microstep' || event.actorRef !== actor) return;
      for (const t of (event as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) {
        current.push(transitionKey(t));
      }
    },
  });
  let emitted: EventObject[] = [];
  actor.on('*', (event: EventObject) => emitted.push(event));
  actor.start();
  const steps: ModelStep[] = [];
  for (const event of events) {
    const from = actor.getSnapshot().value as StateValue;
    current = [];
    emitted = [];
    actor.send(event as EventObject);
    steps.push({ event, from, to: actor.getSnapshot().value as StateValue, transitions: current, emitted });
  }
  actor.stop();
  return steps;
}

/** xstate/graph starts every path with the machine's own init event; the real system needs no step for it. */
function withoutInit(events: ModelEvent[]): ModelEvent[] {
  return events.filter((event) => (event.type as string) !== 'xstate.init');
}

function describeEvent(event: ModelEvent): string {
  const delay = /^xstate\.after\.([^.]+)\./.exec(event.type)?.[1];
  if (delay) return `after ${delay}`;
  const detail = Object.entries(event)
    .filter(([key]) => key !== 'type' && key !== 'uid' && key !== 'token' && key !== 'timing')
    .map(([, value]) =>
      typeof value === 'object' && value !== null && 'sessionExpired' in value ? `sessionExpired=${String(value.sessionExpired)}` : String(value),
    );
  return detail.length ? `${event.type}(${detail.join(',')})` : event.type;
}

/**
 * One path per transition of the machine: the shortest way to a state where the transition is
 * enabled, then the transition. Together the paths take every transition that the stimuli can
 * reach (check with `definedTransitions`).
 */
export function transitionCoveragePaths(
  machine: AnyStateMachine = connectionMachine,
  options: PathGenerationOptions = {},
): ModelPath[] {
  const stimuli = options.stimuli ?? connectionStimuli;
  const serialize = options.serializeState ?? serializeState;
  const traversal = { input: options.input, events: eventsFor(stimuli), serializeState: serialize };
  const logic = machine as unknown as AnyActorLogic;
  const adjacency = getAdjacencyMap(logic, traversal as never) as unknown as Record<
    string,
    { transitions: Record<string, { event: ModelEvent }> }
  >;
  const shortest = getShortestPaths(logic, traversal as never) as Array<{
    state: AnySnapshot;
    steps: Array<{ event: ModelEvent }>;
  }>;
  const pathTo = new Map(shortest.map((p) => [serialize(p.state), withoutInit(p.steps.map((s) => s.event))]));
  const best = new Map<string, ModelEvent[]>();
  for (const [source, { transitions }] of Object.entries(adjacency)) {
    const prefix = pathTo.get(source);
    if (!prefix) continue;
    for (const { event } of Object.values(transitions)) {
      const events = [...prefix, event];
      const last = replayModel(machine, options.input, events).at(-1);
      // Keyed by the event's payload too, so that e.g. both kick reasons get a path.
      for (const transition of last?.transitions ?? []) {
        const key = `${transition} ${describeEvent(event)}`;
        const known = best.get(key);
        if (!known || known.length > events.length) best.set(key, events);
      }
    }
  }
  const unique = new Map<string, ModelEvent[]>();
  for (const events of best.values()) unique.set(JSON.stringify(events), events);
  return [...unique.values()]
    .sort((a, b) => a.length - b.length)
    .map((events) => ({
      description: events.map(describeEvent).join(' → '),
      steps: replayModel(machine, options.input, events),
    }));
}

/** The model's path for a given sequence of events: each step with the states and transitions it predicts. */
export function pathOf(machine: AnyStateMachine, events: readonly ModelEvent[], options: { input?: unknown } = {}): ModelPath {
  return { description: events.map(describeEvent).join(' → '), steps: replayModel(machine, options.input, events) };
}

/** The event of the delay `delay` of the state `stateId` running out (`xstate.after.<delay>.<state id>`). */
export function afterDelay(delay: string, stateId: string): ModelEvent {
  return { type: `xstate.after.${delay}.${stateId}` };
}

/** Shortest paths to every reachable state (as `xstate/graph` finds them), as model paths. */
export function shortestStatePaths(
  machine: AnyStateMachine = connectionMachine,
  options: PathGenerationOptions = {},
): ModelPath[] {
  const stimuli = options.stimuli ?? connectionStimuli;
  const traversal = { input: options.input, events: eventsFor(stimuli), serializeState: options.serializeState ?? serializeState };
  const paths = getShortestPaths(machine as unknown as AnyActorLogic, traversal as never) as Array<{
    steps: Array<{ event: ModelEvent }>;
  }>;
  return paths
    .filter((p) => withoutInit(p.steps.map((s) => s.event)).length > 0)
    .map((p) => {
      const events = withoutInit(p.steps.map((s) => s.event));
      return { description: events.map(describeEvent).join(' → '), steps: replayModel(machine, options.input, events) };
    });
}

export interface PathExecutor<Context> {
  /** Makes the real system do what the step's event stands for. */
  perform(step: ModelStep, context: Context, index: number, path: ModelPath): Promise<void>;
  /** Resolves when the real system is in `step.to`; rejects (e.g. after a deadline) otherwise. */
  check(step: ModelStep, context: Context, index: number, path: ModelPath): Promise<void>;
}

/** Runs a path step by step against the real system. */
export async function executePath<Context>(path: ModelPath, context: Context, executor: PathExecutor<Context>): Promise<void> {
  for (const [index, step] of path.steps.entries()) {
    await executor.perform(step, context, index, path);
    await executor.check(step, context, index, path);
  }
}

/** The delay name of an `xstate.after.*` event, or null. */
export function delayOf(event: ModelEvent): string | null {
  return /^xstate\.after\.([^.]+)\./.exec(event.type)?.[1] ?? null;
}
