/**
 * The coverage recorder (rtm-statechart/testing) that the model-based tests end with: it names a
 * transition no run took, so a transition the real system cannot reach fails those tests, and it
 * sees the transitions of invoked children such as the link.
 */
import { describe, expect, it } from 'vitest';
import { createActor, setup } from 'xstate';
import { connectionMachine, linkMachine } from '../../machines/index.js';
import { CoverageRecorder } from '../../src/testing/model.js';
import { SteppingClock } from './harness.js';

const door = setup({}).createMachine({
  id: 'door',
  initial: 'closed',
  states: {
    closed: { on: { OPEN: 'open', KNOCK: 'closed' } },
    open: { on: { CLOSE: 'closed' } },
  },
});

describe('16 coverage recorder', () => {
  it('16 names the transition that no run took, and nothing once every one was taken', () => {
    const keys: string[] = [];
    const coverage = new CoverageRecorder((key) => keys.push(key));
    const actor = createActor(door, { inspect: coverage.inspect }).start();
    actor.send({ type: 'OPEN' });
    actor.send({ type: 'CLOSE' });
    expect(keys).toEqual(['door.closed --OPEN--> [0]', 'door.open --CLOSE--> [0]']);
    // The check the model-based tests end with fails on the untaken KNOCK.
    expect(coverage.uncoveredTransitions(door)).toEqual(['door.closed --KNOCK--> [0]']);
    expect(() => expect(coverage.uncoveredTransitions(door)).toEqual([])).toThrow();
    actor.send({ type: 'KNOCK' });
    expect(coverage.uncoveredTransitions(door)).toEqual([]);
    actor.stop();
  });

  it('16 records the link child of the connection machine through the parent actor\'s inspection', () => {
    const coverage = new CoverageRecorder();
    const actor = createActor(connectionMachine, { clock: new SteppingClock(), input: {}, inspect: coverage.inspect }).start();
    actor.send({ type: 'LOGIN', uid: 'alice', token: 't1' });
    expect(coverage.transitions).toContain('link.idle --OPEN--> [0]');
    expect(coverage.uncoveredTransitions(linkMachine)).toContain('link.attempt.up --SILENT--> [0]');
    actor.stop();
  });
});
