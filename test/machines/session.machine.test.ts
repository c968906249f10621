import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { scaleTiming, sessionMachine, type SessionEmitted, type Timing } from '../../machines/index.js';
import { SteppingClock } from './harness.js';

function runSession(timing: Timing) {
  const clock = new SteppingClock();
  const actor = createActor(sessionMachine, { clock, input: { uid: 'bob', sessionId: 's-1', timing } });
  const emitted: SessionEmitted[] = [];
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  return { actor, clock, emitted, value: () => actor.getSnapshot().value };
}

describe.each([
  ['default timing', scaleTiming(1)],
  ['timing scaled ×0.1', scaleTiming(0.1)],
])('sessionMachine — %s', (_label, timing) => {
  it('R4.1 a lost link keeps the user online until presenceTimeout, not 1 ms less', () => {
    const s = runSession(timing);
    s.actor.send({ type: 'LINK_LOST' });
    s.clock.advance(timing.presenceTimeoutMs - 1);
    expect(s.value()).toBe('away');
    expect(s.actor.getSnapshot().status).toBe('active');
    expect(s.emitted).toEqual([]);
  });

  it('R4.2 a resume inside the window returns to online and cancels the timer', () => {
    const s = runSession(timing);
    s.actor.send({ type: 'LINK_LOST' });
    s.clock.advance(timing.presenceTimeoutMs - 1);
    s.actor.send({ type: 'RESUMED' });
    s.clock.advance(timing.presenceTimeoutMs * 5);
    expect(s.value()).toBe('online');
    expect(s.emitted).toEqual([]);
  });

  it('R4.3 away for presenceTimeout → expired, with output PRESENCE_EXPIRED', () => {
    const s = runSession(timing);
    s.actor.send({ type: 'LINK_LOST' });
    s.clock.advance(timing.presenceTimeoutMs);
    expect(s.value()).toBe('expired');
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.actor.getSnapshot().output).toEqual({ uid: 'bob', sessionId: 's-1', reason: 'PRESENCE_EXPIRED' });
    expect(s.emitted).toEqual([{ type: 'SessionEnded', reason: 'PRESENCE_EXPIRED' }]);
  });

  it('R4.3 each loss restarts the window', () => {
    const s = runSession(timing);
    for (let i = 0; i < 3; i++) {
      s.actor.send({ type: 'LINK_LOST' });
      s.clock.advance(timing.presenceTimeoutMs - 1);
      s.actor.send({ type: 'RESUMED' });
    }
    expect(s.value()).toBe('online');
  });

  const endings = [
    ['R7.1 logout', { type: 'LOGOUT' }, 'LOGOUT'],
    ['R6.1 a login elsewhere', { type: 'REMOTE_LOGIN' }, 'REMOTE_LOGIN'],
    ['R6.2 a ban', { type: 'BANNED' }, 'BANNED_BY_SERVER'],
  ] as const;
  for (const [label, event, reason] of endings) {
    for (const away of [false, true]) {
      it(`${label} ends the session at once${away ? ' while away' : ''} (no presence wait)`, () => {
        const s = runSession(timing);
        if (away) s.actor.send({ type: 'LINK_LOST' });
        s.actor.send(event);
        expect(s.value()).toBe('ended');
        expect(s.actor.getSnapshot().output?.reason).toBe(reason);
        expect(s.emitted).toEqual([{ type: 'SessionEnded', reason }]);
      });
    }
  }
});
