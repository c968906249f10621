/**
 * R10 (issue 14, item 1): the definition that `rtm-statechart machine --json` prints is
 * importable. (a) XState's `createMachine` builds from it, with our implementations plugged in
 * through `provide`, a machine of the same shape that walks the same paths on a simulated clock
 * as the original: same states, same transitions by the same events, guards and delays, the
 * delays firing at the printed default values. (b) Stately's extractor reads the printed config
 * the way it reads the machine's own source file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createActor,
  createMachine,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type EventObject,
  type InspectionEvent,
} from 'xstate';
import { connectionMachine, defaultTiming, scaleTiming, sessionMachine, type SessionEvent } from '../../machines/index.js';
import { machineDefinition, type MachineDefinition } from '../../machines/definition.js';
import {
  connectionStimuli,
  CoverageRecorder,
  delayOf,
  transitionCoveragePaths,
  transitionKey,
  type ModelEvent,
  type ModelPath,
} from '../../src/testing/model.js';
import { SteppingClock } from './harness.js';

const require = createRequire(import.meta.url);
const { extractMachinesFromFile } = require('rtm-statechart-stately-extractor') as typeof import('rtm-statechart-stately-extractor');

interface Case {
  name: string;
  machine: AnyStateMachine;
  source: string;
  input: unknown;
  stimuli: readonly ModelEvent[];
  delays: Record<string, number>;
}

const sessionStimuli: readonly SessionEvent[] = [{ type: 'LINK_LOST' }, { type: 'RESUMED' }, { type: 'LOGOUT' }, { type: 'REMOTE_LOGIN' }, { type: 'BANNED' }];

const cases: Case[] = [
  {
    name: 'connection',
    machine: connectionMachine,
    source: 'machines/connection.machine.ts',
    input: {},
    stimuli: connectionStimuli,
    delays: {
      loginTimeout: defaultTiming.loginTimeoutMs,
      interruptionGrace: defaultTiming.interruptionGraceMs,
      // Inside RECONNECTING only what is left of the presence window after the grace period.
      presenceTimeout: defaultTiming.presenceTimeoutMs - defaultTiming.interruptionGraceMs,
    },
  },
  {
    name: 'session',
    machine: sessionMachine,
    source: 'machines/session.machine.ts',
    input: { uid: 'alice', sessionId: 'session-1' },
    // ModelEvent is typed for the connection machine; the helpers take any machine's events.
    stimuli: sessionStimuli as readonly EventObject[] as readonly ModelEvent[],
    delays: { presenceTimeout: defaultTiming.presenceTimeoutMs },
  },
];

/** What the CLI prints, read back. */
const printed = (machine: AnyStateMachine): MachineDefinition =>
  JSON.parse(JSON.stringify(machineDefinition(machine), null, 2)) as MachineDefinition;

/**
 * The imported machine, with our implementations plugged in by name. A context computed from
 * input (the session's uid) and a machine output are code, not data: they are plugged in too.
 */
function imported(original: AnyStateMachine, definition: MachineDefinition): AnyStateMachine {
  const config = { ...definition } as Record<string, unknown>;
  if (!('context' in definition)) config.context = original.config.context;
  if (typeof original.config.output === 'function') config.output = original.config.output;
  return createMachine(config as never).provide(original.implementations as never) as unknown as AnyStateMachine;
}

// ---- (a) the machine XState builds from the definition ----

/** An action or guard as written in the config: by name (a string, or `{ type, params }`), or inline. */
function nameOf(ref: unknown): unknown {
  if (typeof ref === 'string') return { type: ref };
  if (typeof ref === 'function') return { inline: ref.name };
  const { type, params } = ref as { type: string; params?: unknown };
  return { type, params };
}

/** Every state node with its initial state, entry and exit actions, and transitions (event, delay, guard, targets, actions). */
function shapeOf(machine: AnyStateMachine): unknown[] {
  const nodes: unknown[] = [];
  const walk = (node: AnyStateNode): void => {
    const delayOfEvent = new Map(node.after.map((t) => [t.eventType, (t as AnyTransitionDefinition & { delay: unknown }).delay]));
    const transitions = [...node.transitions.values(), node.always ?? []].flat().map((t: AnyTransitionDefinition) => ({
      event: t.eventType,
      delay: delayOfEvent.get(t.eventType) ?? null,
      guard: t.guard ? nameOf(t.guard) : null,
      targets: (t.target ?? []).map((target) => target.id),
      actions: t.actions.map(nameOf),
      reenter: t.reenter,
    }));
    nodes.push({
      id: node.id,
      type: node.type,
      initial: node.initial?.target.map((target) => target.id) ?? null,
      entry: node.entry.map(nameOf),
      exit: node.exit.map(nameOf),
      transitions,
    });
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(machine.root);
  return nodes;
}

interface StepRecord {
  event: string;
  value: unknown;
  status: string;
  transitions: Array<{ key: string; guard: unknown }>;
  emitted: EventObject[];
}

/**
 * Replays a path on a running actor whose delays really elapse: a delayed step advances the
 * clock by the printed delay value, and the state must not change one millisecond earlier.
 */
function walk(machine: AnyStateMachine, c: Case, delays: Record<string, number>, path: ModelPath, coverage: CoverageRecorder): StepRecord[] {
  const clock = new SteppingClock();
  let transitions: StepRecord['transitions'] = [];
  const inspect = (event: InspectionEvent): void => {
    coverage.inspect(event);
    if (event.type !== '@xstate.microstep' || event.actorRef !== actor) return;
    for (const t of (event as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) {
      transitions.push({ key: transitionKey(t), guard: t.guard ? nameOf(t.guard) : null });
    }
  };
  const actor = createActor(machine, { clock, input: c.input, inspect });
  let emitted: EventObject[] = [];
  actor.on('*', (event: EventObject) => emitted.push(event));
  actor.start();
  const records: StepRecord[] = [];
  for (const step of path.steps) {
    transitions = [];
    emitted = [];
    const delay = delayOf(step.event);
    if (delay) {
      const before = actor.getSnapshot().value;
      clock.advance(delays[delay]! - 1);
      expect(actor.getSnapshot().value, `${path.description}: ${delay} fired early`).toEqual(before);
      clock.advance(1);
    } else {
      actor.send(step.event as EventObject);
    }
    const snapshot = actor.getSnapshot();
    expect(snapshot.value, path.description).toEqual(step.to);
    records.push({ event: step.event.type, value: snapshot.value, status: snapshot.status, transitions, emitted });
  }
  records.push({ event: '(end)', value: actor.getSnapshot().value, status: actor.getSnapshot().status, transitions: [], emitted: [{ type: 'output', output: actor.getSnapshot().output } as EventObject] });
  actor.stop();
  return records;
}

describe('R10 machine definition JSON: createMachine round trip', () => {
  for (const c of cases) {
    describe(c.name, () => {
      const definition = printed(c.machine);

      it(`R10 ${c.name}: the definition is the config (string initial states, after keyed by delay name) plus the default delay values`, () => {
        expect(definition.id).toBe(c.machine.id);
        expect(definition.delays).toEqual(c.delays);
        const initials: unknown[] = [];
        const afterKeys: string[] = [];
        const visit = (node: Record<string, unknown>): void => {
          if ('initial' in node) initials.push(node.initial);
          if (node.after) afterKeys.push(...Object.keys(node.after));
          for (const child of Object.values((node.states ?? {}) as Record<string, Record<string, unknown>>)) visit(child);
        };
        visit(definition);
        expect(initials.length).toBeGreaterThan(0);
        for (const initial of initials) expect(typeof initial).toBe('string');
        expect(new Set(afterKeys)).toEqual(new Set(Object.keys(c.delays)));
        expect(JSON.stringify(definition)).not.toContain('xstate.after');
      });

      it(`R10 ${c.name}: createMachine(definition) with our implementations has the same states, transitions, guards and delays`, () => {
        expect(shapeOf(imported(c.machine, definition))).toEqual(shapeOf(c.machine));
      });

      it(`R10 ${c.name}: walking every transition (xstate/graph paths, simulated clock) takes the same steps in both machines`, () => {
        const roundTripped = imported(c.machine, definition);
        const paths = transitionCoveragePaths(c.machine, { input: c.input, stimuli: c.stimuli });
        expect(transitionCoveragePaths(roundTripped, { input: c.input, stimuli: c.stimuli })).toEqual(paths);
        const originalCoverage = new CoverageRecorder();
        const importedCoverage = new CoverageRecorder();
        for (const path of paths) {
          const expected = walk(c.machine, c, c.delays, path, originalCoverage);
          expect(walk(roundTripped, c, definition.delays, path, importedCoverage), path.description).toEqual(expected);
        }
        expect(originalCoverage.uncoveredTransitions(c.machine)).toEqual([]);
        expect(importedCoverage.uncoveredTransitions(roundTripped)).toEqual([]);
        expect(importedCoverage.unvisitedStates(roundTripped)).toEqual([]);
      });
    });
  }

  it('R10 connection: the context is printed (plain data for the default timing); the session\'s, a function of input, is not', () => {
    expect(printed(connectionMachine).context).toEqual({ timing: { ...defaultTiming }, uid: null, reason: null, tokenExpiryAnnounced: false, rejection: null, linkOpen: false, graceLeftMs: 4000 });
    expect(printed(sessionMachine)).not.toHaveProperty('context');
    expect(printed(sessionMachine)).not.toHaveProperty('output');
  });

  it('R10 for another input the context and the delay values follow it (timing scaled ×0.1)', () => {
    const definition = machineDefinition(connectionMachine, { input: { timing: scaleTiming(0.1) } });
    expect(definition.delays).toEqual({ loginTimeout: 600, interruptionGrace: 400, presenceTimeout: 2600 });
    expect((definition.context as { timing: unknown }).timing).toEqual(scaleTiming(0.1));
    const session = machineDefinition(sessionMachine, { input: { uid: 'alice', sessionId: 's1', timing: scaleTiming(0.1) } });
    expect(session.context).toMatchObject({ uid: 'alice', sessionId: 's1', endReason: null });
    expect(session.delays).toEqual({ presenceTimeout: 3000 });
  });

  it('R10 a config with an inline function cannot be exported by name and says where it is', () => {
    const inline = createMachine({ id: 'inline', initial: 'a', states: { a: { entry: () => undefined } } });
    expect(() => machineDefinition(inline)).toThrow(/inline function at states\.a\.entry/);
  });
});

// ---- (b) Stately's extractor ----

type Extracted = Record<string, unknown>;

function extract(source: string): ReturnType<typeof extractMachinesFromFile> & object {
  const result = extractMachinesFromFile(source);
  expect(result?.machines).toHaveLength(1);
  return result!;
}

/**
 * The extracted config without the root context, which the source writes as code and the JSON
 * as data, and without the root invoke (the link), which the JSON leaves out (see definition.ts).
 */
function withoutContext(config: Extracted | undefined): Extracted {
  const { context: _context, invoke: _invoke, ...rest } = config ?? {};
  return rest;
}

/** `path: EVENT [guard] -> target` for every transition, `after <delay>` for delayed ones, and every state path. */
function summary(config: Extracted): { states: string[]; transitions: string[]; delays: string[] } {
  const states: string[] = [];
  const transitions: string[] = [];
  const delays = new Set<string>();
  const visit = (node: Extracted, path: string): void => {
    states.push(path);
    const add = (label: string, value: unknown): void => {
      for (const t of [value].flat() as Array<{ target?: unknown; cond?: { type?: string } }>) {
        transitions.push(`${path}: ${label}${t.cond ? ` [${t.cond.type}]` : ''} -> ${JSON.stringify(t.target ?? null)}`);
      }
    };
    for (const [event, value] of Object.entries((node.on ?? {}) as Extracted)) add(event, value);
    for (const [delay, value] of Object.entries((node.after ?? {}) as Extracted)) {
      delays.add(delay);
      add(`after ${delay}`, value);
    }
    if (node.always) add('always', node.always);
    for (const [key, child] of Object.entries((node.states ?? {}) as Record<string, Extracted>)) visit(child, `${path}.${key}`);
  };
  visit(config, String(config.id));
  return { states, transitions, delays: [...delays].sort() };
}

describe('R10 machine definition JSON: Stately\'s extractor (@xstate/machine-extractor)', () => {
  for (const c of cases) {
    const fromSource = extract(readFileSync(fileURLToPath(new URL(`../../${c.source}`, import.meta.url)), 'utf8')).machines[0]!;
    const json = JSON.stringify(machineDefinition(c.machine), null, 2);
    const fromJson = extract(`import { createMachine } from 'xstate';\n\nexport const machine = createMachine(${json});\n`).machines[0]!;

    it(`R10 ${c.name}: the printed config extracts to the same states, transitions, guards and delay names as ${c.source}`, () => {
      const expected = summary(withoutContext(fromSource.toConfig()));
      const actual = summary(withoutContext(fromJson.toConfig()));
      expect(actual.states).toEqual(expected.states);
      expect(actual.transitions).toEqual(expected.transitions);
      expect(actual.delays).toEqual(expected.delays);
      expect(actual.delays).toEqual(Object.keys(c.delays).sort());
      expect(actual.transitions.some((t) => t.includes('['))).toBe(c.name === 'connection');
      // And everything else Stately reads (initial states, actions with their params, descriptions).
      expect(withoutContext(fromJson.toConfig())).toEqual(withoutContext(fromSource.toConfig()));
    });

    it(`16 ${c.name}: Stately's extractor finds the invoked child actors in ${c.source}; the JSON leaves them out`, () => {
      const invoke = (fromSource.toConfig() as { invoke?: unknown }).invoke;
      if (c.name === 'connection') expect(invoke).toMatchObject({ src: 'link' });
      else expect(invoke).toBeUndefined();
      expect((fromJson.toConfig() as { invoke?: unknown }).invoke).toBeUndefined();
    });

    it(`R10 ${c.name}: the printed delay values reach Stately as createMachine's delay implementations`, () => {
      const { delays, ...config } = machineDefinition(c.machine);
      const source = `import { createMachine } from 'xstate';\n\nexport const machine = createMachine(${JSON.stringify(config)}, { delays: ${JSON.stringify(delays)} });\n`;
      const extracted = extract(source).machines[0]!;
      expect(extracted.getAllMachineImplementations().delays).toEqual(Object.fromEntries(Object.entries(c.delays).map(([k, v]) => [k, String(v)])));
      expect(withoutContext(extracted.toConfig())).toEqual(withoutContext(fromSource.toConfig()));
    });
  }

  it('R10 machine.toJSON(), which the command printed before, is not importable by either', () => {
    const json = JSON.parse(JSON.stringify(connectionMachine.toJSON())) as Record<string, unknown>;
    const actor = createActor(createMachine(json as never));
    let failure: unknown;
    actor.subscribe({ error: (error) => (failure = error) });
    actor.start();
    expect(String(failure)).toMatch(/Initial state node "\[object Object\]" not found/);
    const config = extract(`import { createMachine } from 'xstate';\nexport const machine = createMachine(${JSON.stringify(json)});\n`).machines[0]!.toConfig()!;
    expect(config.initial).toBeUndefined();
    expect(summary(config).delays).toEqual([]);
  });
});
