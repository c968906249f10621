/**
 * A recording seen in the inspector becomes a regression test (issue 15.3): the steps of one
 * actor, as the inspector received them (`Relay.replay()`, or a page's exported recording),
 * turned into a model path — each event with the state before and after it — that replays
 * against the machine (`replayOnMachine`), or against the real client and server with the
 * same `executePath` executors as the model-based tests.
 */
import { createActor, SimulatedClock, type AnyStateMachine, type EventObject, type StateValue } from 'xstate';
import type { ModelEvent, ModelPath, ModelStep } from './model.js';

/** The inspection messages of a recording, in the order the inspector received them. */
export interface RecordingMessage {
  type: string;
  sessionId: string;
  event?: { type: string; [key: string]: unknown };
  snapshot?: unknown;
}

export interface Recording {
  items: readonly RecordingMessage[];
}

const valueOf = (snapshot: unknown): StateValue | undefined => {
  const value = (snapshot as { value?: unknown } | undefined)?.value;
  return typeof value === 'string' || (typeof value === 'object' && value !== null) ? (value as StateValue) : undefined;
};

/**
 * The path one actor took in a recording: every snapshot after its first, with the event that
 * caused it and the states before and after. Secrets the inspector redacted stay redacted; a
 * test gives them back through `fill` (for example the login token).
 */
export function recordingToPath(recording: Recording, sessionId: string, fill: (event: ModelEvent) => ModelEvent = (e) => e): ModelPath {
  const steps: ModelStep[] = [];
  let from: StateValue | undefined;
  for (const item of recording.items) {
    if (item.sessionId !== sessionId) continue;
    const value = valueOf(item.snapshot);
    if (value === undefined || (item.type !== '@xstate.snapshot' && item.type !== '@xstate.actor')) continue;
    const type = item.event?.type ?? '';
    if (item.type === '@xstate.actor' || type === 'xstate.init' || from === undefined) {
      from = value;
      continue;
    }
    // A step whose event the producer did not report, or the actor being stopped: nothing to send.
    if (type === '' || type === 'xstate.stop') continue;
    const { ...event } = item.event!;
    // A recording has the states, not the transitions taken nor what was emitted.
    steps.push({ event: fill(event as ModelEvent), from, to: value, transitions: [], emitted: [] });
    from = value;
  }
  if (from === undefined) throw new Error(`the recording has no snapshot of actor '${sessionId}'`);
  return { description: steps.map((s) => s.event.type).join(' → ') || '(no steps)', steps };
}

export interface ReplayMismatch {
  index: number;
  event: EventObject;
  expected: StateValue;
  actual: StateValue;
}

/**
 * Runs the path against `machine` on a simulated clock: events are sent, `xstate.after.*`
 * steps advance the clock until that delay fires. Returns the first step whose state differs
 * from the recording, or null when the machine does what was recorded.
 */
export function replayOnMachine(machine: AnyStateMachine, path: ModelPath, options: { input?: unknown; maxDelayMs?: number } = {}): ReplayMismatch | null {
  const clock = new SimulatedClock();
  const actor = createActor(machine, { clock, ...(options.input !== undefined ? { input: options.input } : {}) }).start();
  try {
    for (const [index, step] of path.steps.entries()) {
      if (step.event.type.startsWith('xstate.after.')) {
        // Let the machine's own timer fire, as it would have: step the clock until the state changes.
        const before = JSON.stringify(actor.getSnapshot().value);
        for (let waited = 0; waited < (options.maxDelayMs ?? 600_000) && JSON.stringify(actor.getSnapshot().value) === before; waited += 10) clock.increment(10);
      } else {
        actor.send(step.event as EventObject);
      }
      const actual = actor.getSnapshot().value as StateValue;
      if (JSON.stringify(actual) !== JSON.stringify(step.to)) return { index, event: step.event as EventObject, expected: step.to, actual };
    }
    return null;
  } finally {
    actor.stop();
  }
}
