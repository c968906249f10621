/**
 * Model-based tests: every state and every transition of connectionMachine — delayed ones
 * included — is reached by a path generated with xstate/graph, each path is replayed on a
 * running actor with a simulated clock, and after every step the actor's state and the
 * (state, reason) it announced are checked against the rules of SPEC §3 and R1–R7.
 */
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { connectionMachine, scaleTiming, type ConnectionEvent } from '../../machines/index.js';
import { SteppingClock } from './harness.js';

type Snapshot = SnapshotFrom<typeof connectionMachine>;
type ModelEvent = ConnectionEvent | { type: `xstate.after.${string}` };

const timing = scaleTiming(0.01);

/** The events a user or the network can cause, with each guard's both outcomes. */
const stimuli: ModelEvent[] = [
  { type: 'LOGIN', uid: 'alice', token: 'token-1' },
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

/** Plus "let the delay run out" for every timer pending in the snapshot. */
function eventsFor(snapshot: Snapshot): ModelEvent[] {
  const nodes = (snapshot as unknown as { _nodes: AnyStateNode[] })._nodes;
  const delayed = nodes.flatMap((node) => node.after.map((t) => ({ type: t.eventType as `xstate.after.${string}` })));
  return [...stimuli, ...delayed];
}

const traversal = {
  input: { timing },
  events: eventsFor,
  serializeState: (s: Snapshot) =>
    JSON.stringify([s.value, s.context.reason, s.context.tokenExpiryAnnounced]),
} as const;

/** The independent oracle: what SPEC says a step announces, from the state it starts in. */
function expectedAnnouncement(from: string, event: ModelEvent): string | null {
  const delay = /^xstate\.after\.([^.]+)\./.exec(event.type)?.[1];
  if (delay === 'loginTimeout') return 'DISCONNECTED/LOGIN_TIMEOUT';
  if (delay === 'interruptionGrace') return 'RECONNECTING/INTERRUPTED';
  if (delay === 'presenceTimeout') return null; // R4: a substate change, not a connection change
  switch (event.type) {
    case 'LOGIN':
      return from === 'DISCONNECTED' ? 'CONNECTING/LOGIN' : null;
    case 'LOGOUT':
      return from === 'DISCONNECTED' ? null : 'DISCONNECTED/LOGOUT';
    case 'LINK_UP':
      return from === 'CONNECTING' || from === 'RECONNECTING' ? 'CONNECTED/LOGIN_SUCCESS' : null;
    case 'LOGIN_REJECTED':
      if (from !== 'CONNECTING') return null;
      return event.code === 'TOKEN_EXPIRED' ? 'DISCONNECTED/TOKEN_EXPIRED' : 'DISCONNECTED/LOGIN_FAILURE';
    case 'KICKED':
      return from === 'CONNECTED' || from === 'RECONNECTING' ? `ABORTED/${event.reason}` : null;
    default:
      return null;
  }
}

function topState(value: Snapshot['value']): string {
  return typeof value === 'string' ? value : Object.keys(value)[0]!;
}

/** Every transition written in the definition, delayed ones included. */
function definedTransitions(): Set<AnyTransitionDefinition> {
  const all = new Set<AnyTransitionDefinition>();
  const walk = (node: AnyStateNode) => {
    for (const transitions of node.transitions.values()) for (const t of transitions) all.add(t);
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(connectionMachine.root);
  return all;
}

function allStateIds(): string[] {
  const ids: string[] = [];
  const walk = (node: AnyStateNode) => {
    ids.push(node.id);
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(connectionMachine.root);
  return ids;
}

/** Replays a path on a real actor; returns the transitions it took and the states it was in. */
function replay(steps: ModelEvent[]) {
  const clock = new SteppingClock();
  const taken = new Set<AnyTransitionDefinition>();
  const actor = createActor(connectionMachine, {
    clock,
    input: { timing },
    inspect: (ev) => {
      if (ev.type === '@xstate.microstep') for (const t of ev._transitions) taken.add(t);
    },
  });
  const announced: string[] = [];
  actor.on('ConnectionStateChanged', (e) => announced.push(`${e.state}/${e.reason}`));
  actor.start();
  const visited = new Set<string>();
  const record = () => {
    for (const node of (actor.getSnapshot() as unknown as { _nodes: AnyStateNode[] })._nodes) visited.add(node.id);
  };
  record();
  for (const event of steps) {
    const from = topState(actor.getSnapshot().value);
    const before = announced.length;
    const delay = /^xstate\.after\.([^.]+)\./.exec(event.type)?.[1];
    if (delay) {
      const resolve = connectionMachine.implementations.delays[delay as 'loginTimeout'] as (a: unknown) => number;
      clock.advance(resolve({ context: actor.getSnapshot().context, event }));
    } else {
      actor.send(event as ConnectionEvent);
    }
    const expected = expectedAnnouncement(from, event);
    expect(announced.slice(before), `${from} --${event.type}-->`).toEqual(expected ? [expected] : []);
    record();
  }
  actor.stop();
  return { taken, visited, finalValue: actor.getSnapshot().value };
}

describe('connectionMachine, model-based (xstate/graph)', () => {
  // The model's events include the `xstate.after.*` ones, which are not in the machine's event
  // type, so the traversal sees the machine as any machine.
  const model = connectionMachine as AnyStateMachine;
  const adjacency = getAdjacencyMap(model, traversal as never) as unknown as Record<
    string,
    { transitions: Record<string, { event: ModelEvent; state: Snapshot }> }
  >;
  const shortest = getShortestPaths(model, traversal as never) as Array<{ state: Snapshot; steps: Array<{ event: ModelEvent }> }>;
  const pathTo = new Map(shortest.map((p) => [traversal.serializeState(p.state), p.steps.map((s) => s.event)]));

  // One path per edge of the graph: the shortest path to its source, then the edge itself.
  const edgePaths = Object.entries(adjacency).flatMap(([source, { transitions }]) =>
    Object.values(transitions).map(({ event, state }) => ({
      steps: [...(pathTo.get(source) ?? []), event] as ModelEvent[],
      expectedValue: state.value,
    })),
  );

  it('R1–R7 every generated path replays on a running actor with the announced (state, reason) of the spec', () => {
    expect(edgePaths.length).toBeGreaterThan(50);
    for (const { steps, expectedValue } of edgePaths) {
      const { finalValue } = replay(steps);
      expect(finalValue).toEqual(expectedValue);
    }
  });

  it('the generated paths reach every state and take every transition, delayed ones included', () => {
    const taken = new Set<AnyTransitionDefinition>();
    const visited = new Set<string>();
    for (const { steps } of edgePaths) {
      const run = replay(steps);
      run.taken.forEach((t) => taken.add(t));
      run.visited.forEach((id) => visited.add(id));
    }
    const missingStates = allStateIds().filter((id) => !visited.has(id));
    const missingTransitions = [...definedTransitions()]
      .filter((t) => !taken.has(t))
      .map((t) => `${t.source.id} --${t.eventType}-->`);
    expect(missingStates).toEqual([]);
    expect(missingTransitions).toEqual([]);
  });

  it('the definition serialises to JSON that names the delays and every state', () => {
    const json = JSON.parse(JSON.stringify(connectionMachine.toJSON())) as { states: Record<string, unknown> };
    expect(Object.keys(json.states)).toEqual(['DISCONNECTED', 'CONNECTING', 'CONNECTED', 'RECONNECTING', 'ABORTED']);
    const text = JSON.stringify(json);
    for (const delay of ['loginTimeout', 'interruptionGrace', 'presenceTimeout']) expect(text).toContain(delay);
  });
});
