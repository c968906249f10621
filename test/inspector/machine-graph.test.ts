/**
 * The page draws machines from their JSON definition alone (R9): every transition XState itself
 * derives from the config must appear, with the same source, target and event, for our machines
 * and for nested, id-targeted and relative-target foreign ones.
 */
import { describe, expect, it } from 'vitest';
import { createMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { toPlain } from '../../inspector/server/convert.js';
import { activeStateIds, delayLabel, parseDefinition, stateValueText } from '../../inspector/page/machine-graph.js';
import { connectionMachine, sessionMachine } from '../../machines/index.js';

/** (source, target, event) for every targeted transition, as XState resolves them; nodes by id path. */
function xstateTransitions(machine: AnyStateMachine): string[] {
  const out = new Set<string>();
  const pathId = (node: AnyStateNode): string => [machine.id, ...node.path].join('.');
  const walk = (node: AnyStateNode): void => {
    for (const [eventType, transitions] of node.transitions) {
      for (const t of transitions) for (const target of (t.target ?? []) as AnyStateNode[]) out.add(`${pathId(node)} -> ${pathId(target)} : ${eventType}`);
    }
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root);
  return [...out].sort();
}

function drawnTransitions(machine: AnyStateMachine): string[] {
  // The definition as a producer sends it: the config, serialised.
  const graph = parseDefinition(JSON.stringify(toPlain(machine.config, 30)));
  return [...new Set(graph.transitions.map((t) => `${t.source.id} -> ${t.target.id} : ${t.eventType}`))].sort();
}

const nested = createMachine({
  id: 'player',
  initial: 'idle',
  states: {
    idle: { on: { PLAY: 'playing.normal' } },
    playing: {
      id: 'playingState',
      initial: 'normal',
      states: {
        normal: { on: { FAST: 'fast', STOP: '#player.idle' } },
        fast: { after: { 500: 'normal' }, on: { BACK: '#playingState' } },
      },
      on: { PAUSE: '.normal', EJECT: { target: 'idle', guard: 'canEject' } },
    },
  },
});

describe('R9 machine definitions drawn on the page', () => {
  it.each([
    ['connectionMachine', connectionMachine],
    ['sessionMachine', sessionMachine],
    ['a foreign nested machine', nested],
  ] as const)('R9 draws every transition of %s with XState\'s own source, target and event', (_name, machine) => {
    expect(drawnTransitions(machine as AnyStateMachine)).toEqual(xstateTransitions(machine as AnyStateMachine));
  });

  it('R9 labels delays with their value and guards by name, and lists target-less transitions inside their state', () => {
    const graph = parseDefinition(JSON.stringify(toPlain(connectionMachine.config, 30)));
    const login = graph.transitions.find((t) => t.delay?.key === 'loginTimeout')!;
    expect(delayLabel(login.delay!, 6000)).toBe('after loginTimeout (6 s)');
    expect(delayLabel(login.delay!, undefined)).toBe('after loginTimeout');
    const numeric = parseDefinition(JSON.stringify(nested.config)).transitions.find((t) => t.delay)!;
    expect(delayLabel(numeric.delay!, undefined)).toBe('after 500 ms');
    expect(graph.transitions.some((t) => t.event === 'LOGIN_REJECTED [tokenHadExpired]')).toBe(true);
    expect(graph.nodes.get('connection.RECONNECTING')!.targetless).toContain('TOKEN_EXPIRED [tokenExpiryNotYetAnnounced]');
  });

  it('R9 marks the active state nodes of a nested value with their id paths', () => {
    const graph = parseDefinition(JSON.stringify(toPlain(connectionMachine.config, 30)));
    expect([...activeStateIds(graph, { RECONNECTING: 'withinPresence' })].sort()).toEqual(['connection', 'connection.RECONNECTING', 'connection.RECONNECTING.withinPresence']);
    expect(stateValueText({ CONNECTED: 'linkLost' })).toBe('CONNECTED.linkLost');
  });
});
