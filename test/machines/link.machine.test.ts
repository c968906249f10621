/**
 * linkMachine (issue 16) on a simulated clock: as a child of a recording parent, with the
 * socket's reports sent by hand. Model-based too: paths generated with xstate/graph take every
 * transition of the link, and each is replayed on a running actor whose delays elapse on the
 * clock, checked against an independent reading of R1.3, R3, R6 and R11.
 */
import { describe, expect, it } from 'vitest';
import { createActor, setup, type AnyActorRef, type EventObject } from 'xstate';
import {
  attemptTimeoutMs,
  connectionMachine,
  linkMachine,
  resolveTiming,
  scaleTiming,
  type HeartbeatCadence,
  type LinkMachineEvent,
} from '../../machines/index.js';
import {
  CoverageRecorder,
  linkStimuli,
  serializeLinkState,
  transitionCoveragePaths,
  type ModelPath,
} from '../../src/testing/model.js';
import { SteppingClock } from './harness.js';

const timing = resolveTiming();
const grant = (sessionExpired = false) => ({
  sessionId: 's1',
  sessionExpired,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 2000,
});

interface Calls {
  hellos: Array<{ sessionId: string | null; token: string }>;
  /** Each heartbeat the link started: its cadence, and whether it has been stopped since. */
  heartbeats: Array<{ input: HeartbeatCadence; stopped: boolean }>;
  /** What was done to the socket, in order: 'dial', 'logout', 'hangUp'. */
  socketLog: string[];
  logouts: number;
  farewells: number;
  sockets: number;
  grants: Array<{ fresh: boolean; sessionExpired: boolean }>;
}

/** The link as the connection machine's child would run it, with recording stand-ins for the socket. */
function runLink(coverage?: CoverageRecorder, options: { judgeLater?: boolean } = {}) {
  const clock = new SteppingClock();
  const calls: Calls = { hellos: [], heartbeats: [], socketLog: [], logouts: 0, farewells: 0, sockets: 0, grants: [] };
  const reports: EventObject[] = [];
  const link = linkMachine.provide({
    actions: {
      // Counts the attempts' dials; records each heartbeat started (its cadence) and whether it was stopped since.
      dial: () => {
        calls.sockets += 1;
        calls.socketLog.push('dial');
      },
      hangUp: () => void calls.socketLog.push('hangUp'),
      startHeartbeat: (_, cadence) => void calls.heartbeats.push({ input: cadence, stopped: false }),
      stopHeartbeat: () => {
        const running = calls.heartbeats.at(-1);
        if (running) running.stopped = true;
      },
      sendHello: (_, hello) => void calls.hellos.push({ sessionId: hello.sessionId, token: hello.token }),
      sendLogout: () => {
        calls.logouts += 1;
        calls.socketLog.push('logout');
      },
      sayFarewell: () => void (calls.farewells += 1),
      applyGrant: (_, how) => void calls.grants.push(how),
      // The model sends STALLED itself, as the runtime does after the poll phase.
      ...(options.judgeLater ? { judgeAttempt: () => undefined } : {}),
    },
  });
  const parent = setup({ actors: { link } }).createMachine({
    invoke: { id: 'link', src: 'link', input: {} },
    on: { '*': { actions: ({ event }) => void reports.push(event) } },
  });
  const actor = createActor(parent, { clock, ...(coverage ? { inspect: coverage.inspect } : {}) });
  actor.start();
  const child = () => actor.getSnapshot().children['link'] as AnyActorRef;
  return {
    clock,
    calls,
    reports,
    send: (event: LinkMachineEvent) => child().send(event),
    value: () => child().getSnapshot().value,
    context: () => child().getSnapshot().context,
    stop: () => actor.stop(),
    /** OPEN, socket open, granted: up. */
    up() {
      this.send({ type: 'OPEN', uid: 'alice', token: 't1', timing });
      this.send({ type: 'SOCKET_OPEN' });
      this.send({ type: 'GRANTED', grant: grant() });
    },
  };
}

describe('16 linkMachine', () => {
  it('16 dialing → authenticating → up: the login is sent, the grant applied before LINK_UP, then the heartbeat runs at the granted cadence', () => {
    const h = runLink();
    expect(h.value()).toBe('idle');
    h.send({ type: 'OPEN', uid: 'alice', token: 't1', timing });
    expect(h.value()).toEqual({ attempt: { dialing: 'waiting' } });
    expect(h.calls.sockets).toBe(1);
    h.send({ type: 'SOCKET_OPEN' });
    expect(h.value()).toEqual({ attempt: { authenticating: 'waiting' } });
    expect(h.calls.hellos).toEqual([{ sessionId: null, token: 't1' }]);
    h.send({ type: 'GRANTED', grant: grant() });
    expect(h.value()).toEqual({ attempt: 'up' });
    expect(h.calls.grants).toEqual([{ fresh: true, sessionExpired: false }]);
    expect(h.reports).toEqual([{ type: 'LINK_UP', sessionExpired: false }]);
    expect(h.calls.heartbeats.map((b) => [b.input, b.stopped])).toEqual([[{ intervalMs: 1000, timeoutMs: 2000 }, false]]);
    h.stop();
  });

  it('R3.1 the heartbeat lives while the link is up: stopped as the socket is lost, started again with the next grant', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'SOCKET_CLOSED', code: 1006 });
    expect(h.calls.heartbeats.map((b) => b.stopped)).toEqual([true]);
    h.send({ type: 'SOCKET_OPEN' });
    expect(h.calls.heartbeats).toHaveLength(1);
    h.send({ type: 'GRANTED', grant: { ...grant(), heartbeatIntervalMs: 500, heartbeatTimeoutMs: 1500 } });
    expect(h.calls.heartbeats.map((b) => [b.input, b.stopped])).toEqual([
      [{ intervalMs: 1000, timeoutMs: 2000 }, true],
      [{ intervalMs: 500, timeoutMs: 1500 }, false],
    ]);
    h.send({ type: 'CLOSE' });
    expect(h.calls.heartbeats.map((b) => b.stopped)).toEqual([true, true]);
    h.stop();
  });

  it('R7.1 a logout while up says goodbye on the socket before the attempt hangs it up', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'CLOSE' });
    expect(h.value()).toBe('idle');
    expect(h.calls.socketLog).toEqual(['dial', 'logout', 'hangUp']);
    expect(h.calls.farewells).toBe(0);
    h.stop();
  });

  it('R3.1 a socket lost while up is reported once and re-dialled at once; the next attempt resumes', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'SOCKET_CLOSED', code: 1006 });
    expect(h.reports.at(-1)).toEqual({ type: 'LINK_DOWN', closeCode: 1006, silentMs: 0, heartbeatTimeoutMs: 2000 });
    expect(h.value()).toEqual({ attempt: { dialing: 'waiting' } });
    expect(h.calls.sockets).toBe(2);
    h.send({ type: 'SOCKET_OPEN' });
    expect(h.calls.hellos.at(-1)).toEqual({ sessionId: 's1', token: 't1' });
    h.send({ type: 'GRANTED', grant: grant() });
    expect(h.calls.grants.at(-1)).toEqual({ fresh: false, sessionExpired: false });
    h.stop();
  });

  it('R3.1 R3.2 a black hole (the heartbeat reports SILENT) is reported with how long the link had been silent, and re-dialled at once', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'SILENT', silentMs: 2900 });
    expect(h.reports.at(-1)).toEqual({ type: 'LINK_DOWN', silentMs: 2900, heartbeatTimeoutMs: 2000 });
    expect(h.value()).toEqual({ attempt: { dialing: 'waiting' } });
    expect(h.calls.sockets).toBe(2);
    expect(h.calls.heartbeats[0]!.stopped).toBe(true);
    h.stop();
  });

  it('11.6a a frame while the answer is awaited is progress; an overdue attempt that hears one is not abandoned', () => {
    const h = runLink(undefined, { judgeLater: true });
    const limit = attemptTimeoutMs(timing);
    h.send({ type: 'OPEN', uid: 'alice', token: 't1', timing });
    h.send({ type: 'SOCKET_OPEN' });
    h.clock.advance(limit - 1);
    h.send({ type: 'PROGRESS' });
    h.clock.advance(limit - 1);
    expect(h.value()).toEqual({ attempt: { authenticating: 'waiting' } });
    h.clock.advance(1);
    expect(h.value()).toEqual({ attempt: { authenticating: 'overdue' } });
    h.send({ type: 'PROGRESS' }); // read after the timer, in the same turn of the event loop
    h.send({ type: 'STALLED' }); // the late judgement finds the attempt moving
    expect(h.value()).toEqual({ attempt: { authenticating: 'waiting' } });
    h.clock.advance(limit);
    h.send({ type: 'STALLED' });
    expect(h.value()).toBe('backingOff');
    h.stop();
  });

  it('11.6a each phase of an attempt gets the attempt timeout: dialing until open, then authenticating until answered', () => {
    const h = runLink();
    const limit = attemptTimeoutMs(timing);
    expect(limit).toBe(2000);
    h.send({ type: 'OPEN', uid: 'alice', token: 't1', timing });
    h.clock.advance(limit - 1);
    expect(h.value()).toEqual({ attempt: { dialing: 'waiting' } });
    h.send({ type: 'SOCKET_OPEN' }); // progress: the login gets a full timeout of its own
    h.clock.advance(limit - 1);
    expect(h.value()).toEqual({ attempt: { authenticating: 'waiting' } });
    h.clock.advance(1);
    expect(h.value()).toBe('backingOff');
    expect(h.reports).toEqual([]);
    h.stop();
  });

  it('R3.1 R3.3 the backoff is short until the connection machine says RECONNECTING, then doubles to its cap', () => {
    const h = runLink();
    h.up();
    const waits: number[] = [];
    const failOnce = () => {
      h.send({ type: 'SOCKET_CLOSED', code: 1006 });
      const start = h.clock.now();
      while (h.value() === 'backingOff') h.clock.advance(1);
      waits.push(h.clock.now() - start);
    };
    h.send({ type: 'SOCKET_CLOSED', code: 1006 }); // lost: re-dialled at once
    expect(h.value()).toEqual({ attempt: { dialing: 'waiting' } });
    failOnce();
    failOnce();
    // Inside the grace period: the middle of the jitter range of min(500, grace / 8) = 500 ms.
    expect(waits).toEqual([375, 375]);
    h.send({ type: 'CONNECTION_PHASE', reconnecting: true });
    waits.length = 0;
    for (let i = 0; i < 7; i++) failOnce();
    // Failures 3…9, doubling from cap / 16 = 125 ms: ceilings 500, 1000, then the cap 2000; 3/4 of each.
    expect(waits).toEqual([375, 750, 1500, 1500, 1500, 1500, 1500]);
    h.stop();
  });

  it('R1.3 a refused first login ends the link: LOGIN_REJECTED with the code, halted until closed, no farewell', () => {
    const h = runLink();
    h.send({ type: 'OPEN', uid: 'alice', token: 'bad', timing });
    h.send({ type: 'SOCKET_OPEN' });
    h.send({ type: 'REFUSED', code: 'REJECTED' });
    expect(h.reports).toEqual([{ type: 'LOGIN_REJECTED', code: 'REJECTED' }]);
    expect(h.value()).toBe('halted');
    h.clock.advance(60_000);
    expect(h.calls.sockets).toBe(1);
    h.send({ type: 'CLOSE' });
    expect(h.value()).toBe('idle');
    expect(h.calls.farewells).toBe(0);
    h.stop();
  });

  it('R3.6 R11 a resume refused for the token: expired is announced and retried; a renewed token makes the refusal old news', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'SOCKET_CLOSED', code: 1006 });
    h.send({ type: 'SOCKET_OPEN' });
    h.send({ type: 'REFUSED', code: 'TOKEN_EXPIRED' });
    expect(h.reports.at(-1)).toEqual({ type: 'TOKEN_EXPIRED' });
    expect(h.value()).toBe('backingOff');
    h.clock.advance(375);
    h.send({ type: 'SOCKET_OPEN' });
    h.send({ type: 'RENEW_TOKEN', token: 't2' });
    const before = h.reports.length;
    h.send({ type: 'REFUSED', code: 'INVALID_TOKEN' }); // refused t1, but t2 is the token now
    expect(h.reports.length).toBe(before);
    expect(h.value()).toBe('backingOff');
    h.clock.advance(375);
    h.send({ type: 'SOCKET_OPEN' });
    expect(h.calls.hellos.at(-1)).toEqual({ sessionId: 's1', token: 't2' });
    h.send({ type: 'REFUSED', code: 'INVALID_TOKEN' });
    expect(h.reports.at(-1)).toEqual({ type: 'LOGIN_REJECTED', code: 'INVALID_TOKEN' });
    expect(h.value()).toBe('halted');
    h.stop();
  });

  it('R4.4 a session the server forgot is logged into afresh and reported as expired', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'SOCKET_CLOSED', code: 1006 });
    h.send({ type: 'SOCKET_OPEN' });
    h.send({ type: 'REFUSED', code: 'SESSION_EXPIRED' });
    h.clock.advance(375);
    h.send({ type: 'SOCKET_OPEN' });
    expect(h.calls.hellos.at(-1)).toEqual({ sessionId: null, token: 't1' });
    h.send({ type: 'GRANTED', grant: { ...grant(), sessionId: 's2' } });
    expect(h.reports.at(-1)).toEqual({ type: 'LINK_UP', sessionExpired: true });
    h.stop();
  });

  it('R6 a kick or a ban on a resume halts the link: KICKED', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'KICK', reason: 'REMOTE_LOGIN' });
    expect(h.reports.at(-1)).toEqual({ type: 'KICKED', reason: 'REMOTE_LOGIN' });
    expect(h.value()).toBe('halted');
    const b = runLink();
    b.up();
    b.send({ type: 'SOCKET_CLOSED', code: 1006 });
    b.send({ type: 'SOCKET_OPEN' });
    b.send({ type: 'REFUSED', code: 'REJECTED' });
    expect(b.reports.at(-1)).toEqual({ type: 'KICKED', reason: 'BANNED_BY_SERVER' });
    h.stop();
    b.stop();
  });

  it('R7.1 closing an up link sends the logout; closing a down link with a session says farewell', () => {
    const h = runLink();
    h.up();
    h.send({ type: 'CLOSE' });
    expect([h.calls.logouts, h.calls.farewells]).toEqual([1, 0]);
    h.up();
    h.send({ type: 'SOCKET_CLOSED', code: 1006 });
    h.send({ type: 'CLOSE' });
    expect([h.calls.logouts, h.calls.farewells]).toEqual([1, 1]);
    expect(h.value()).toBe('idle');
    h.send({ type: 'CLOSE' });
    expect(h.calls.farewells).toBe(1);
    h.stop();
  });

  it('16 connectionMachine invokes the link: its states are in the snapshot and the inspection stream', () => {
    const coverage = new CoverageRecorder();
    const actor = createActor(connectionMachine, { clock: new SteppingClock(), input: {}, inspect: coverage.inspect });
    actor.start();
    const link = actor.getSnapshot().children['link'] as AnyActorRef;
    expect(link.getSnapshot().value).toBe('idle');
    actor.send({ type: 'LOGIN', uid: 'alice', token: 't1' });
    expect(link.getSnapshot().value).toEqual({ attempt: { dialing: 'waiting' } });
    expect(coverage.states).toContain('link.attempt.dialing');
    actor.send({ type: 'LOGOUT' });
    expect(link.getSnapshot().value).toBe('idle');
    actor.stop();
  });
});

/** What the link reports for a step, from the spec rather than from the machine. */
function expectedReports(from: string, event: LinkMachineEvent, hadSession: boolean, tokenCurrent: boolean): string[] {
  const inAttempt = from.startsWith('attempt');
  switch (event.type) {
    case 'GRANTED':
      return from === 'attempt.authenticating' ? ['LINK_UP'] : [];
    case 'SOCKET_CLOSED':
    case 'SILENT':
      return from === 'attempt.up' ? ['LINK_DOWN'] : [];
    case 'KICK':
      return inAttempt ? ['KICKED'] : [];
    case 'REFUSED':
      if (from !== 'attempt.authenticating') return [];
      if (!hadSession) return ['LOGIN_REJECTED']; // R1.3
      if (event.code === 'REJECTED') return ['KICKED']; // R6.2
      if (event.code === 'INVALID_TOKEN' && tokenCurrent) return ['LOGIN_REJECTED']; // R11
      if (event.code === 'TOKEN_EXPIRED' && tokenCurrent) return ['TOKEN_EXPIRED']; // R3.6
      return [];
    default:
      return [];
  }
}

const flat = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries(value as object).map(([k, v]) => `${k}.${flat(v)}`)[0]!;
/** `attempt.authenticating.waiting` → `attempt.authenticating`: the phase, whatever its timer. */
const phase = (value: unknown): string => flat(value).replace(/\.(waiting|overdue)$/, '');

function replay(path: ModelPath, coverage: CoverageRecorder): void {
  const h = runLink(coverage, { judgeLater: true });
  for (const step of path.steps) {
    const from = phase(h.value());
    const context = h.context() as { sessionId: string | null; token: string; attemptToken: string };
    const before = h.reports.length;
    const delay = /^xstate\.after\.([^.]+)\./.exec(step.event.type)?.[1] as keyof typeof linkMachine.implementations.delays | undefined;
    if (delay) {
      const resolve = linkMachine.implementations.delays[delay] as (args: unknown) => number;
      h.clock.advance(resolve({ context: h.context(), event: step.event }));
    } else {
      h.send(step.event as LinkMachineEvent);
    }
    const expected = delay
      ? []
      : expectedReports(from, step.event as LinkMachineEvent, context.sessionId !== null, context.attemptToken === context.token);
    expect(h.reports.slice(before).map((r) => r.type), `${path.description}: ${from} --${step.event.type}-->`).toEqual(expected);
    expect(h.value(), path.description).toEqual(step.to);
  }
  h.stop();
}

describe('16 linkMachine, model-based (xstate/graph)', () => {
  // Judged later, as the client does: STALLED is a stimulus, and an overdue attempt can still move.
  const judgedLater = linkMachine.provide({ actions: { judgeAttempt: () => undefined } });
  const paths = transitionCoveragePaths(judgedLater, {
    stimuli: linkStimuli,
    input: { timing: scaleTiming(1) },
    serializeState: serializeLinkState,
  });

  it('16 every generated path replays on a running actor with the reports of the spec; every link transition is taken', () => {
    expect(paths.length).toBeGreaterThan(20);
    const coverage = new CoverageRecorder();
    for (const path of paths) replay(path, coverage);
    expect(coverage.unvisitedStates(linkMachine)).toEqual([]);
    expect(coverage.uncoveredTransitions(linkMachine)).toEqual([]);
  });
});
