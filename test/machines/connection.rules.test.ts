import { describe, expect, it } from 'vitest';
import { defaultTiming, scaleTiming, type Timing } from '../../machines/index.js';
import { runConnection } from './harness.js';

// Every rule runs twice: at the seed's defaults and with every duration scaled by 0.1, which
// must keep the same behaviour (SPEC §2).
const timings: Array<[string, Timing]> = [
  ['default timing', { ...defaultTiming }],
  ['timing scaled ×0.1', scaleTiming(0.1)],
];

describe.each(timings)('connectionMachine — %s', (_label, timing) => {
  const run = () => runConnection(timing);

  describe('§3 initial state', () => {
    it('starts DISCONNECTED and announces nothing', () => {
      const h = run();
      expect(h.value()).toBe('DISCONNECTED');
      expect(h.emitted).toEqual([]);
      expect(h.link.started).toHaveLength(0);
    });
  });

  describe('R1 login', () => {
    it('R1.1 login from DISCONNECTED → CONNECTING / LOGIN and opens the link with uid and token', () => {
      const h = run();
      h.login();
      expect(h.value()).toBe('CONNECTING');
      expect(h.changes()).toEqual(['CONNECTING/LOGIN']);
      expect(h.link.started).toEqual([{ uid: 'alice', token: 'token-1', timing }]);
    });

    it('R1.2 success → CONNECTED / LOGIN_SUCCESS', () => {
      const h = run();
      h.connect();
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      expect(h.changes()).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS']);
    });

    it('R1.3 a rejected login → DISCONNECTED / LOGIN_FAILURE and the link is closed', () => {
      for (const code of ['INVALID_TOKEN', 'INVALID_ARGUMENT', 'REJECTED']) {
        const h = run();
        h.login();
        h.actor.send({ type: 'LOGIN_REJECTED', code });
        expect(h.value()).toBe('DISCONNECTED');
        expect(h.changes()).toEqual(['CONNECTING/LOGIN', 'DISCONNECTED/LOGIN_FAILURE']);
        expect(h.link.stopped).toBe(1);
      }
    });

    it('R1.3 a login rejected for an expired token → DISCONNECTED / TOKEN_EXPIRED', () => {
      const h = run();
      h.login();
      h.actor.send({ type: 'LOGIN_REJECTED', code: 'TOKEN_EXPIRED' });
      expect(h.changes()).toEqual(['CONNECTING/LOGIN', 'DISCONNECTED/TOKEN_EXPIRED']);
    });

    it('R1.4 LOGIN while CONNECTING, CONNECTED, RECONNECTING or ABORTED changes nothing', () => {
      const h = run();
      h.login();
      h.login();
      expect(h.value()).toBe('CONNECTING');
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      h.login();
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      h.interrupt();
      h.login();
      expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
      h.actor.send({ type: 'KICKED', reason: 'REMOTE_LOGIN' });
      h.login();
      expect(h.value()).toBe('ABORTED');
      expect(h.link.started).toHaveLength(1);
      expect(h.changes()).toEqual([
        'CONNECTING/LOGIN',
        'CONNECTED/LOGIN_SUCCESS',
        'RECONNECTING/INTERRUPTED',
        'ABORTED/REMOTE_LOGIN',
      ]);
    });
  });

  describe('R2 connecting', () => {
    it('R2.1 CONNECTING needs nothing from the app: the link alone completes it', () => {
      const h = run();
      h.login();
      // Link losses while logging in are the link's to retry; the machine waits.
      h.actor.send({ type: 'LINK_DOWN' });
      expect(h.value()).toBe('CONNECTING');
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
    });

    it('R2.2 CONNECTING ends only in CONNECTED or DISCONNECTED', () => {
      const endings = [
        (h: ReturnType<typeof run>) => h.actor.send({ type: 'LINK_UP', sessionExpired: false }),
        (h: ReturnType<typeof run>) => h.actor.send({ type: 'LOGIN_REJECTED', code: 'INVALID_TOKEN' }),
        (h: ReturnType<typeof run>) => h.clock.advance(timing.loginTimeoutMs),
        (h: ReturnType<typeof run>) => h.actor.send({ type: 'LOGOUT' }),
      ];
      for (const end of endings) {
        const h = run();
        h.login();
        end(h);
        expect(['CONNECTED', 'DISCONNECTED']).toContain(h.changes().at(-1)?.split('/')[0]);
      }
    });

    it(`R2.3 no success within loginTimeout → DISCONNECTED / LOGIN_TIMEOUT, not 1 ms before`, () => {
      const h = run();
      h.login();
      h.clock.advance(timing.loginTimeoutMs - 1);
      expect(h.value()).toBe('CONNECTING');
      expect(h.link.stopped).toBe(0);
      h.clock.advance(1);
      expect(h.value()).toBe('DISCONNECTED');
      expect(h.changes()).toEqual(['CONNECTING/LOGIN', 'DISCONNECTED/LOGIN_TIMEOUT']);
      expect(h.link.stopped).toBe(1);
      // After DISCONNECTED the app must log in again; a fresh login starts a fresh link and timer.
      h.login();
      h.clock.advance(timing.loginTimeoutMs - 1);
      expect(h.value()).toBe('CONNECTING');
      expect(h.link.started).toHaveLength(2);
    });

    it('R2.3 a success after the timeout has fired changes nothing', () => {
      const h = run();
      h.login();
      h.clock.advance(timing.loginTimeoutMs);
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      expect(h.value()).toBe('DISCONNECTED');
    });
  });

  describe('R3 interruption and reconnection', () => {
    it('R3.1 a link restored within the grace period never leaves CONNECTED and announces nothing', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'LINK_DOWN' });
      expect(h.value()).toEqual({ CONNECTED: 'linkLost' });
      h.clock.advance(timing.interruptionGraceMs - 1);
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      // The grace timer was cancelled with the loss: nothing fires later.
      h.clock.advance(timing.presenceTimeoutMs * 2);
      expect(h.changes()).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS']);
      expect(h.link.stopped).toBe(0);
    });

    it('R3.1 each new loss restarts the grace period', () => {
      const h = run();
      h.connect();
      for (let i = 0; i < 5; i++) {
        h.actor.send({ type: 'LINK_DOWN' });
        h.clock.advance(timing.interruptionGraceMs - 1);
        h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      }
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      expect(h.changes()).toHaveLength(2);
    });

    it('R3.2 not restored within interruptionGrace → RECONNECTING / INTERRUPTED, not 1 ms before', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'LINK_DOWN' });
      h.clock.advance(timing.interruptionGraceMs - 1);
      expect(h.value()).toEqual({ CONNECTED: 'linkLost' });
      h.clock.advance(1);
      expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
      expect(h.changes()).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS', 'RECONNECTING/INTERRUPTED']);
    });

    it('R3.3 RECONNECTING lasts until success, logout or abort: the link keeps running', () => {
      const h = run();
      h.connect();
      h.interrupt();
      h.clock.advance(timing.presenceTimeoutMs * 100);
      h.actor.send({ type: 'LINK_DOWN' });
      expect(h.value()).toEqual({ RECONNECTING: 'presenceExpired' });
      expect(h.link.stopped).toBe(0);
      expect(h.changes()).toHaveLength(3);
    });

    it('R3.4 success while RECONNECTING → CONNECTED / LOGIN_SUCCESS, with the same link', () => {
      const h = run();
      h.connect();
      h.interrupt();
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      expect(h.changes()).toEqual([
        'CONNECTING/LOGIN',
        'CONNECTED/LOGIN_SUCCESS',
        'RECONNECTING/INTERRUPTED',
        'CONNECTED/LOGIN_SUCCESS',
      ]);
      expect(h.link.started).toHaveLength(1);
      expect(h.restoreSessionCalls).toBe(0);
    });

    it('R3.5 logout while RECONNECTING → DISCONNECTED / LOGOUT, and login works again', () => {
      const h = run();
      h.connect();
      h.interrupt();
      h.actor.send({ type: 'LOGOUT' });
      expect(h.value()).toBe('DISCONNECTED');
      expect(h.changes().at(-1)).toBe('DISCONNECTED/LOGOUT');
      expect(h.link.stopped).toBe(1);
      h.login();
      expect(h.value()).toBe('CONNECTING');
    });

    it('R3.6 TokenExpired while RECONNECTING is announced once per token; the state stays', () => {
      const h = run();
      h.connect();
      h.interrupt();
      h.actor.send({ type: 'TOKEN_EXPIRED' });
      h.actor.send({ type: 'TOKEN_EXPIRED' });
      expect(h.emitted.filter((e) => e.type === 'TokenExpired')).toHaveLength(1);
      expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
      h.actor.send({ type: 'RENEW_TOKEN', token: 'token-2' });
      expect(h.link.commands).toEqual([{ type: 'RENEW_TOKEN', token: 'token-2' }]);
      h.actor.send({ type: 'TOKEN_EXPIRED' });
      expect(h.emitted.filter((e) => e.type === 'TokenExpired')).toHaveLength(2);
      expect(h.changes()).toHaveLength(3);
    });

    it('R3.6 renewToken reaches the link in CONNECTING and CONNECTED too, and is ignored without a link', () => {
      const h = run();
      h.actor.send({ type: 'RENEW_TOKEN', token: 'early' });
      expect(h.link.commands).toEqual([]);
      h.login();
      h.actor.send({ type: 'RENEW_TOKEN', token: 't2' });
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      h.actor.send({ type: 'RENEW_TOKEN', token: 't3' });
      expect(h.link.commands.map((c) => c.token)).toEqual(['t2', 't3']);
    });
  });

  describe('R4 presence (the 30 s rule, as the client sees it)', () => {
    it('R4.1 inside the presence window RECONNECTING stays withinPresence, not 1 ms short of it', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'LINK_DOWN' });
      h.clock.advance(timing.interruptionGraceMs);
      h.clock.advance(timing.presenceTimeoutMs - timing.interruptionGraceMs - 1);
      expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
      h.clock.advance(1);
      expect(h.value()).toEqual({ RECONNECTING: 'presenceExpired' });
      // The substate change is not a change of connection state.
      expect(h.changes()).toHaveLength(3);
    });

    it('R4.2 back within the window → CONNECTED without restoring the session', () => {
      const h = run();
      h.connect();
      h.interrupt();
      h.clock.advance(timing.presenceTimeoutMs - timing.interruptionGraceMs - 1);
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      expect(h.restoreSessionCalls).toBe(0);
    });

    it('R4.3 at presenceTimeout after the loss the client counts its presence as expired', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'LINK_DOWN' });
      h.clock.advance(timing.presenceTimeoutMs - 1);
      expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
      h.clock.advance(1);
      expect(h.value()).toEqual({ RECONNECTING: 'presenceExpired' });
    });

    it('R4.4 back after the window → CONNECTED / LOGIN_SUCCESS and the session is restored once', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'LINK_DOWN' });
      h.clock.advance(timing.presenceTimeoutMs);
      h.actor.send({ type: 'LINK_UP', sessionExpired: true });
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
      expect(h.changes().at(-1)).toBe('CONNECTED/LOGIN_SUCCESS');
      expect(h.restoreSessionCalls).toBe(1);
    });

    it('R4.4 the server\'s word wins: an expired session is restored even when the client\'s clock had not run out', () => {
      const h = run();
      h.connect();
      h.interrupt();
      h.actor.send({ type: 'LINK_UP', sessionExpired: true });
      expect(h.restoreSessionCalls).toBe(1);
      h.actor.send({ type: 'LINK_DOWN' });
      h.actor.send({ type: 'LINK_UP', sessionExpired: true });
      expect(h.restoreSessionCalls).toBe(2);
      expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
    });
  });

  describe('R6 kicked out', () => {
    it('R6.1 a login elsewhere → ABORTED / REMOTE_LOGIN and the link is stopped for good', () => {
      for (const reconnecting of [false, true]) {
        const h = run();
        h.connect();
        if (reconnecting) h.interrupt();
        h.actor.send({ type: 'KICKED', reason: 'REMOTE_LOGIN' });
        expect(h.value()).toBe('ABORTED');
        expect(h.changes().at(-1)).toBe('ABORTED/REMOTE_LOGIN');
        expect(h.link.stopped).toBe(1);
        h.clock.advance(timing.presenceTimeoutMs * 10);
        expect(h.link.started).toHaveLength(1);
      }
    });

    it('R6.2 a ban → ABORTED / BANNED_BY_SERVER', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'KICKED', reason: 'BANNED_BY_SERVER' });
      expect(h.changes().at(-1)).toBe('ABORTED/BANNED_BY_SERVER');
    });

    it('R6.3 from ABORTED: logout → DISCONNECTED / LOGOUT, then login → CONNECTING', () => {
      const h = run();
      h.connect();
      h.actor.send({ type: 'KICKED', reason: 'REMOTE_LOGIN' });
      h.actor.send({ type: 'LINK_UP', sessionExpired: false });
      expect(h.value()).toBe('ABORTED');
      h.actor.send({ type: 'LOGOUT' });
      h.login();
      expect(h.changes().slice(-3)).toEqual(['ABORTED/REMOTE_LOGIN', 'DISCONNECTED/LOGOUT', 'CONNECTING/LOGIN']);
      expect(h.link.started).toHaveLength(2);
    });
  });

  describe('R7 logout', () => {
    const reach: Record<string, (h: ReturnType<typeof run>) => void> = {
      CONNECTING: (h) => h.login(),
      CONNECTED: (h) => h.connect(),
      'CONNECTED (link lost)': (h) => {
        h.connect();
        h.actor.send({ type: 'LINK_DOWN' });
      },
      RECONNECTING: (h) => {
        h.connect();
        h.interrupt();
      },
      ABORTED: (h) => {
        h.connect();
        h.actor.send({ type: 'KICKED', reason: 'BANNED_BY_SERVER' });
      },
    };
    for (const [from, go] of Object.entries(reach)) {
      it(`R7.1 logout from ${from} → DISCONNECTED / LOGOUT, the link closed and every timer stopped`, () => {
        const h = run();
        go(h);
        h.actor.send({ type: 'LOGOUT' });
        expect(h.value()).toBe('DISCONNECTED');
        expect(h.changes().at(-1)).toBe('DISCONNECTED/LOGOUT');
        expect(h.link.stopped).toBe(1);
        const count = h.emitted.length;
        h.clock.advance(timing.presenceTimeoutMs * 10);
        expect(h.emitted).toHaveLength(count);
      });
    }

    it('R7.1 logout while DISCONNECTED announces nothing (no change, no event)', () => {
      const h = run();
      h.actor.send({ type: 'LOGOUT' });
      expect(h.emitted).toEqual([]);
    });
  });
});

describe('timing', () => {
  it('§2 rejects timings that make no sense', async () => {
    const { resolveTiming } = await import('../../machines/index.js');
    expect(() => resolveTiming({ loginTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => resolveTiming({ presenceTimeoutMs: 1000, interruptionGraceMs: 2000 })).toThrow(RangeError);
    expect(resolveTiming({ loginTimeoutMs: 10 }).loginTimeoutMs).toBe(10);
  });
});

describe('R3.2 the grace counts from the last sign of life (issue 16)', () => {
  it('R3.2 a black hole noticed after 1.5 s of silence: RECONNECTING 2.5 s later, 4 s after the last frame', () => {
    const h = runConnection();
    h.connect();
    h.actor.send({ type: 'LINK_DOWN', silentMs: 1500, heartbeatTimeoutMs: 1000 });
    h.clock.advance(2499);
    expect(h.value()).toEqual({ CONNECTED: 'linkLost' });
    h.clock.advance(1);
    expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
    expect(h.changes().at(-1)).toBe('RECONNECTING/INTERRUPTED');
  });

  it('R3.1 R3.2 silence (nearly) past the grace still leaves one heartbeat timeout for the re-dial at once', () => {
    const h = runConnection();
    h.connect();
    h.actor.send({ type: 'LINK_DOWN', silentMs: 3000, heartbeatTimeoutMs: 2000 });
    h.clock.advance(1999);
    h.actor.send({ type: 'LINK_UP', sessionExpired: false });
    expect(h.value()).toEqual({ CONNECTED: 'linkUp' });
    h.actor.send({ type: 'LINK_DOWN', silentMs: 6000, heartbeatTimeoutMs: 2000 });
    h.clock.advance(1999);
    expect(h.value()).toEqual({ CONNECTED: 'linkLost' });
    h.clock.advance(1);
    expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
  });

  it('R3.2 a close is a sign of life: the whole grace counts from it, and the next loss starts afresh', () => {
    const h = runConnection();
    h.connect();
    h.actor.send({ type: 'LINK_DOWN', silentMs: 3000, heartbeatTimeoutMs: 1000 });
    h.actor.send({ type: 'LINK_UP', sessionExpired: false });
    h.actor.send({ type: 'LINK_DOWN', closeCode: 1006 });
    h.clock.advance(defaultTiming.interruptionGraceMs - 1);
    expect(h.value()).toEqual({ CONNECTED: 'linkLost' });
    h.clock.advance(1);
    expect(h.value()).toEqual({ RECONNECTING: 'withinPresence' });
  });

  it('16 the chart holds the outbox on LINK_DOWN and opens it when the link is up again; the refusal code is in context', () => {
    const h = runConnection();
    h.connect();
    expect(h.outbox).toEqual(['open']);
    h.actor.send({ type: 'LINK_DOWN', closeCode: 1009 });
    h.actor.send({ type: 'LINK_UP', sessionExpired: false });
    expect(h.outbox).toEqual(['open', 'hold 1009', 'open']);
    h.interrupt();
    expect(h.link.phases).toEqual([true]);
    h.actor.send({ type: 'LOGIN_REJECTED', code: 'INVALID_TOKEN' });
    expect(h.actor.getSnapshot().context.rejection).toBe('INVALID_TOKEN');
    h.login();
    expect(h.actor.getSnapshot().context.rejection).toBeNull();
  });
});
