/**
 * Model-based tests: paths generated from connectionMachine with xstate/graph (through the
 * helpers exported as `rtm-statechart/testing`) take every transition, delayed ones included.
 * Each path is replayed on a running actor whose delays really elapse on a simulated clock, and
 * after every step the actor's state and the (state, reason) it announced are checked against
 * an independent reading of SPEC §3 and R1–R7. Coverage is measured on the running actors, so a
 * transition added to the machine that no path takes fails the test.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { connectionMachine, scaleTiming, type ConnectionEvent } from '../../machines/index.js';
import { CoverageRecorder, transitionCoveragePaths, type ModelEvent, type ModelPath } from '../../src/testing/model.js';
import { SteppingClock } from './harness.js';

const timing = scaleTiming(0.01);

/** What SPEC says a step announces, from the top-level state it starts in. */
function expectedAnnouncement(from: string, event: ModelEvent, linkDown: boolean): string | null {
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
      if (from === 'CONNECTING') return event.code === 'TOKEN_EXPIRED' ? 'DISCONNECTED/TOKEN_EXPIRED' : 'DISCONNECTED/LOGIN_FAILURE';
      // R11: a resume refused for a token that will never be accepted ends the login; an expired
      // one does not (R3.6: TOKEN_EXPIRED, the session lives on).
      return linkDown && event.code !== 'TOKEN_EXPIRED' ? 'DISCONNECTED/LOGIN_FAILURE' : null;
    case 'KICKED':
      return from === 'CONNECTED' || from === 'RECONNECTING' ? `ABORTED/${event.reason}` : null;
    default:
      return null;
  }
}

const topState = (value: unknown): string => (typeof value === 'string' ? value : Object.keys(value as object)[0]!);

/** Replays a path on a running actor: delays elapse on the clock instead of being sent as events. */
function replay(path: ModelPath, coverage: CoverageRecorder): void {
  const clock = new SteppingClock();
  const actor = createActor(connectionMachine, { clock, input: { timing }, inspect: coverage.inspect });
  const announced: string[] = [];
  actor.on('ConnectionStateChanged', (e) => announced.push(`${e.state}/${e.reason}`));
  actor.start();
  for (const step of path.steps) {
    const from = topState(actor.getSnapshot().value);
    const linkDown = /linkLost|RECONNECTING/.test(JSON.stringify(actor.getSnapshot().value));
    const before = announced.length;
    const delay = /^xstate\.after\.([^.]+)\./.exec(step.event.type)?.[1] as keyof typeof connectionMachine.implementations.delays | undefined;
    if (delay) {
      const resolve = connectionMachine.implementations.delays[delay] as (args: unknown) => number;
      clock.advance(resolve({ context: actor.getSnapshot().context, event: step.event }));
    } else {
      actor.send(step.event as ConnectionEvent);
    }
    const expected = expectedAnnouncement(from, step.event, linkDown);
    expect(announced.slice(before), `${path.description}: ${from} --${step.event.type}-->`).toEqual(expected ? [expected] : []);
    expect(actor.getSnapshot().value, path.description).toEqual(step.to);
  }
  actor.stop();
}

describe('connectionMachine, model-based (xstate/graph)', () => {
  const paths = transitionCoveragePaths(connectionMachine, { input: { timing } });

  it('R1–R7 every generated path replays on a running actor with the announced (state, reason) of the spec', () => {
    expect(paths.length).toBeGreaterThan(20);
    const coverage = new CoverageRecorder();
    for (const path of paths) replay(path, coverage);
    // Reached every state and took every transition the definition has, delayed ones included.
    expect(coverage.unvisitedStates()).toEqual([]);
    expect(coverage.uncoveredTransitions()).toEqual([]);
  });

  it('the definition serialises to JSON that names the delays and every state', () => {
    const json = JSON.parse(JSON.stringify(connectionMachine.toJSON())) as { states: Record<string, unknown> };
    expect(Object.keys(json.states)).toEqual(['DISCONNECTED', 'CONNECTING', 'CONNECTED', 'RECONNECTING', 'ABORTED']);
    const text = JSON.stringify(json);
    for (const delay of ['loginTimeout', 'interruptionGrace', 'presenceTimeout']) expect(text).toContain(delay);
  });
});
