/**
 * Issue 15.3, a recording becomes a regression test: the steps one actor took, as the relay
 * recorded them, turned into a path (`recordingToPath` from rtm-statechart/testing) that
 * replays against the machine on a simulated clock — delays included — and points at the
 * first step a changed machine no longer takes.
 */
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, type InspectionEvent } from 'xstate';
import { fromInspectionEvent, Relay } from '../../inspector/server/index.js';
import { connectionMachine } from '../../machines/index.js';
import { recordingToPath, replayOnMachine } from '../../src/testing/index.js';

const doorMachine = createMachine({
  id: 'door',
  initial: 'closed',
  states: { closed: { on: { OPEN: 'open' } }, open: { after: { 4000: 'closed' }, on: { SLAM: 'closed', LOCK: 'locked' } }, locked: { on: { UNLOCK: 'closed' } } },
});

async function record(run: (send: (type: string) => void) => Promise<void>): Promise<{ relay: Relay; sessionId: string }> {
  const relay = new Relay();
  const actor = createActor(doorMachine, { inspect: (event) => inspectInto(relay, event) });
  actor.start();
  await run((type) => actor.send({ type } as never));
  actor.stop();
  return { relay, sessionId: actor.sessionId };
}

/** What the inspector's in-process observer does: convert and publish into the relay. */
function inspectInto(relay: Relay, event: InspectionEvent): void {
  const message = fromInspectionEvent(event);
  if (message) relay.publish(message);
}

describe('15.3 a recording replayed as a test', () => {
  it('15.3 the path of a recorded actor, delayed steps included, replays against the machine', async () => {
    const { relay, sessionId } = await record(async (send) => {
      send('OPEN');
      send('SLAM');
      send('OPEN');
      await new Promise((r) => setTimeout(r, 10));
    });
    // Add the delayed step as XState would have reported it (the test does not wait 4 s).
    const items = [...relay.replay(), { type: '@xstate.snapshot', sessionId, event: { type: 'xstate.after.4000.door.open' }, snapshot: { value: 'closed' } }];
    const path = recordingToPath({ items }, sessionId);
    expect(path.description).toBe('OPEN → SLAM → OPEN → xstate.after.4000.door.open');
    expect(path.steps.map((s) => [s.from, s.to])).toEqual([['closed', 'open'], ['open', 'closed'], ['closed', 'open'], ['open', 'closed']]);
    expect(replayOnMachine(doorMachine, path)).toBeNull();
  });

  it('15.3 a changed machine fails the replay at the first step it no longer takes', async () => {
    const { relay, sessionId } = await record(async (send) => {
      send('OPEN');
      send('LOCK');
      send('UNLOCK');
    });
    const path = recordingToPath({ items: relay.replay() }, sessionId);
    const changed = createMachine({ ...doorMachine.config, states: { ...doorMachine.config.states, open: { on: { SLAM: 'closed' } } } } as never);
    expect(replayOnMachine(changed, path)).toMatchObject({ index: 1, event: { type: 'LOCK' }, expected: 'locked', actual: 'open' });
  });

  it('15.3 our connection machine: a recorded login, with its redacted token given back', () => {
    const relay = new Relay();
    const input = { timing: { interruptionGraceMs: 400 } };
    const actor = createActor(connectionMachine.provide({ actors: {} }), { input, inspect: (event) => inspectInto(relay, event) });
    actor.start();
    actor.send({ type: 'LOGIN', uid: 'rita', token: 'secret-token' });
    const recorded = relay.replay();
    actor.stop();
    const path = recordingToPath({ items: recorded }, actor.sessionId, (event) => (event.type === 'LOGIN' ? { ...event, token: 'secret-token' } : event));
    expect(path.steps[0]).toMatchObject({ event: { type: 'LOGIN', uid: 'rita', token: 'secret-token' }, from: 'DISCONNECTED', to: 'CONNECTING' });
    // The token was redacted in the recording itself.
    expect(JSON.stringify(recorded)).not.toContain('secret-token');
    expect(replayOnMachine(connectionMachine, path, { input })).toBeNull();
  });
});
