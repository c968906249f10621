/**
 * Model-based, end to end: paths generated from connectionMachine with xstate/graph (one per
 * transition, see `transitionCoveragePaths`) are executed against a real RtmClient, the real
 * server and the fault proxy. Every machine event is mapped to a real action — a login with a
 * good, bad or expiring token, a logout, a network cut, a restored network, a second client
 * logging in with the same uid, a ban, or waiting out a delay — and after every step the
 * client's machine state and the (state, reason) events it announced must be those the model
 * predicts. The transitions the real client's actor took are recorded; the last test fails if
 * any transition of the machine was not taken, so a new transition without a mapping fails.
 *
 * The link machine (issue 16) is covered the same way: the recorder sees the real link actor
 * (the connection machine's child) through the client's inspection stream, on the paths above
 * and on link paths — sequences of link events replayed on linkMachine, which predicts each
 * step's transitions and state — that a real client takes against the real server through the
 * fault proxy. Their last test fails if a link transition was not taken on a real client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateValue } from 'xstate';
import { WebSocket } from 'ws';
import { linkMachine } from '../../machines/index.js';
import { RtmClient, type Timing, type WebSocketConstructor } from '../../src/index.js';
import { createRtmServer, type RtmServer } from '../../src/server/index.js';
import {
  afterDelay,
  CoverageRecorder,
  createFaultProxy,
  definedTransitions,
  executePath,
  pathOf,
  performOnRealSystem,
  transitionCoveragePaths,
  type FaultProxy,
  type ModelEvent,
  type ModelPath,
  type ModelStep,
  type RealRun,
} from '../../src/testing/index.js';
import { waitFor } from './harness.js';

/** The client's timing on the server whose timing matches its own. */
const timing: Timing = {
  loginTimeoutMs: 600,
  interruptionGraceMs: 400,
  presenceTimeoutMs: 1500,
  channelReplayWindowMs: 3000,
  channelReplayMax: 32,
  requestTimeoutMs: 1000,
};
/**
 * LINK_UP { sessionExpired: true } from CONNECTED.linkLost or RECONNECTING.withinPresence means
 * the server forgot the user before the client's own presence rule did: those paths run on a
 * server with a 300 ms presence window, and the client's grace is long enough to act within it.
 */
const shortPresenceServerTiming: Partial<Timing> = { interruptionGraceMs: 300, presenceTimeoutMs: 300 };
const clientTimingOnShortServer: Timing = { ...timing, interruptionGraceMs: 1200, presenceTimeoutMs: 4000 };

interface Rig {
  server: RtmServer;
  proxy: FaultProxy;
  observer: RtmClient;
}

const coverage = new CoverageRecorder();
let matched: Rig;
let shortPresence: Rig;

async function rig(serverTiming: Partial<Timing>): Promise<Rig> {
  // A heartbeat timeout longer than the server's own choice at this scale, so that a stall of
  // a loaded test machine is not taken for a lost link (LINK_DOWN is mapped to a cut, which is
  // noticed at once, so no step waits for the heartbeat).
  const server = await createRtmServer({
    port: 0,
    inspector: false,
    timing: serverTiming,
    heartbeat: { intervalMs: 100, timeoutMs: 1000 },
  });
  const proxy = await createFaultProxy({ target: server.url });
  // The observer only watches; its login is not under test, so a loaded machine gets time for it.
  const observer = new RtmClient({ url: server.url, timing: { ...serverTiming, loginTimeoutMs: 10_000 } });
  await observer.login({ uid: 'observer', token: server.createToken('observer') });
  return { server, proxy, observer };
}

beforeAll(async () => {
  matched = await rig(timing);
  shortPresence = await rig(shortPresenceServerTiming);
});

afterAll(async () => {
  for (const { server, proxy, observer } of [matched, shortPresence]) {
    await observer.logout();
    observer.actor.stop();
    await proxy.close();
    await server.close();
  }
});

/** What a path needs while it runs: the real system, and what the client announced. */
interface PathRun extends RealRun {
  announced: string[];
}

function needsShortPresence(path: ModelPath): boolean {
  return path.steps.some(
    (s) =>
      s.event.type === 'LINK_UP' &&
      s.event.sessionExpired &&
      JSON.stringify(s.from) !== JSON.stringify({ RECONNECTING: 'presenceExpired' }),
  );
}

function announcements(step: ModelStep): string[] {
  return step.emitted.map((e) =>
    e.type === 'ConnectionStateChanged'
      ? `${(e as unknown as { state: string }).state}/${(e as unknown as { reason: string }).reason}`
      : e.type,
  );
}

/** Waits until the real client is in the model's state and has announced what the model emitted. */
async function reached(step: ModelStep, run: PathRun, announcedBefore: number): Promise<void> {
  const expected = JSON.stringify(step.to);
  const wanted = announcements(step).length;
  await waitFor(
    () =>
      JSON.stringify(run.client.actor.getSnapshot().value) === expected &&
      run.announced.length >= announcedBefore + wanted,
    `state ${expected} after ${step.event.type}`,
    6000,
  );
}

const paths = transitionCoveragePaths();

describe('connectionMachine paths executed against the real client, server and network', () => {
  it.each(paths.map((p) => [p.description, p] as const))('R1–R7 path: %s', async (_, path) => {
    const onShort = needsShortPresence(path);
    const clientTiming = onShort ? clientTimingOnShortServer : timing;
    const r = onShort ? shortPresence : matched;
    const uid = `u-${Math.random().toString(36).slice(2, 10)}`;
    const client = new RtmClient({ url: r.proxy.url, timing: clientTiming, inspect: coverage.inspect });
    const run: PathRun = { ...r, uid, client, clientTiming, announced: [], tokenExpiresAt: 0, others: [] };
    client.on('ConnectionStateChanged', (state, reason) => run.announced.push(`${state}/${reason}`));
    client.on('TokenExpired', () => run.announced.push('TokenExpired'));
    try {
      let expectedAnnouncements: string[] = [];
      await executePath(path, run, {
        perform: (step, context, index) => performOnRealSystem(step, context, index, path),
        check: async (step, context) => {
          await reached(step, context, expectedAnnouncements.length);
          expectedAnnouncements = [...expectedAnnouncements, ...announcements(step)];
          expect(context.announced).toEqual(expectedAnnouncements);
        },
      });
      expect(client.connectionState).toBe(
        typeof path.steps.at(-1)!.to === 'string' ? path.steps.at(-1)!.to : Object.keys(path.steps.at(-1)!.to)[0],
      );
    } finally {
      await client.logout();
      client.actor.stop();
      for (const other of run.others) {
        await other.logout();
        other.actor.stop();
      }
      r.proxy.restore();
    }
  });

  it('the executed paths took every transition and visited every state of connectionMachine on the real client', () => {
    expect(coverage.uncoveredTransitions()).toEqual([]);
    expect(coverage.unvisitedStates()).toEqual([]);
  });
});

// ---- the link machine on the real client ----------------------------------------------------

/**
 * The link's timing: an attempt timeout (1 s) shorter than the login timeout, so that an
 * unanswered login is abandoned by the link, not ended by the connection machine; a 400 ms grace
 * makes the backoff short (25–50 ms).
 */
const linkTiming: Timing = { ...timing, loginTimeoutMs: 3000, presenceTimeoutMs: 3000 };
const linkHeartbeat = { intervalMs: 100, timeoutMs: 1000 };
const linkSecret = 'link-model-secret';

/** The model that predicts the real link: the client judges an overdue attempt later (STALLED or PROGRESS), as the model's stimuli do. */
const linkModel = linkMachine.provide({ actions: { judgeAttempt: () => undefined } });

const dialTimeout = afterDelay('attemptTimeout', 'link.attempt.dialing.waiting');
const answerTimeout = afterDelay('attemptTimeout', 'link.attempt.authenticating.waiting');
const backoff = afterDelay('backoff', 'link.backingOff');
const open: ModelEvent = { type: 'OPEN', uid: 'model-user', token: 'token-1', timing: linkTiming };
const granted: ModelEvent = { type: 'GRANTED', grant: { sessionId: 's', sessionExpired: false, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 } };
const socketClosed: ModelEvent = { type: 'SOCKET_CLOSED', code: 1006 };

/**
 * Transitions of the real link that no network, server or app action can make the client take:
 * the test below asserts every other transition of linkMachine was taken on a real client.
 */
const UNREACHABLE_ON_THE_REAL_CLIENT: Record<string, string> = {
  'link.idle --CLOSE--> [0]': 'the connection machine closes only an open link (closeLink is guarded by linkOpen)',
  'link.attempt.dialing.waiting --PROGRESS--> [0]':
    "the client's socket adapter tells a dial's progress only when judged (judgeAttempt), never while the phase waits",
  'link.attempt.authenticating.overdue --PROGRESS--> [0]':
    'needs a frame other than the answer to arrive within one poll phase after the attempt timeout: a race, not a path',
  'link.attempt.authenticating --REFUSED--> [6]':
    'a refusal the link does not tell apart (TOO_OFTEN, INTERNAL): the server answers one hello a socket with none of them',
};

/** Transitions the real link may take between the model's steps: timers and commands that do not change its course. */
const AMBIENT = new Set([
  'link --CONNECTION_PHASE--> [0]',
  // A dial that left a few ms after its phase began is judged moving once, then waits out the rest.
  'link.attempt.dialing.waiting --xstate.after.attemptTimeout.link.attempt.dialing.waiting--> [0]',
  'link.attempt.dialing.overdue --PROGRESS--> [0]',
]);

/** A WebSocket whose constructor takes 300 ms: the dial leaves late, as when the implementation loads first. */
const LateDial: WebSocketConstructor = class extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    const leaves = Date.now() + 300;
    while (Date.now() < leaves) {
      // the dial is still being set up
    }
    super(url, protocols);
  }
} as unknown as WebSocketConstructor;

interface LinkRun {
  server: RtmServer;
  proxy: FaultProxy;
  client: RtmClient;
  uid: string;
  /** Promises of actions started inside a step (a logout, a restart), awaited at the end. */
  pending: Array<Promise<unknown>>;
  /** Servers started by the path, closed at the end. */
  servers: RtmServer[];
}

interface LinkScenario {
  /** The rules the path exercises, for the title. */
  rules: string;
  events: ModelEvent[];
  /** The real action behind step `index`, run the moment the step before it was taken on the real link (0: at the start). */
  drive: Record<number, (run: LinkRun) => void | Promise<unknown>>;
  WebSocket?: WebSocketConstructor;
}

/** The socket that is up is cut, and the re-dial it brings is held (accepted, never answered). */
const cutAndHoldTheDial = ({ proxy }: LinkRun): void => {
  proxy.silent();
  proxy.cut();
};

/** Resolves once the proxy accepted a dial it will hold (silent mode), so that restoring it ends that dial. */
async function parkedDial(run: LinkRun, acceptedBefore: number): Promise<void> {
  await waitFor(() => run.proxy.acceptedCount > acceptedBefore, 'the held dial', 3000);
}

const linkScenarios: LinkScenario[] = [
  {
    rules: 'R3.1 R3.2 a black hole, noticed by the heartbeat',
    events: [open, { type: 'SOCKET_OPEN' }, granted, { type: 'SILENT', silentMs: 1000 }, { type: 'CLOSE' }],
    drive: {
      3: ({ proxy }) => proxy.blackhole(),
      4: (run) => void run.pending.push(run.client.logout()),
    },
  },
  {
    rules: '11.6a a login whose answer never comes',
    events: [open, { type: 'SOCKET_OPEN' }, answerTimeout, { type: 'STALLED' }, backoff, { type: 'CLOSE' }],
    drive: {
      2: ({ proxy }) => proxy.blackhole('toClient'),
      5: (run) => void run.pending.push(run.client.logout()),
    },
  },
  {
    rules: '11.6a a dial that left late is judged moving, then stalled',
    events: [open, dialTimeout, { type: 'PROGRESS' }, dialTimeout, { type: 'STALLED' }, { type: 'CLOSE' }],
    drive: {
      0: ({ proxy }) => proxy.silent(),
      5: (run) => void run.pending.push(run.client.logout()),
    },
    WebSocket: LateDial,
  },
  {
    rules: 'R3.1 a socket lost before its answer',
    events: [open, { type: 'SOCKET_OPEN' }, socketClosed, backoff, { type: 'SOCKET_OPEN' }, granted, { type: 'CLOSE' }],
    drive: {
      2: ({ proxy }) => proxy.cut(),
      6: (run) => void run.pending.push(run.client.logout()),
    },
  },
  {
    rules: 'R3.6 a refusal of a token the app has replaced since is old news',
    events: [
      open, { type: 'SOCKET_OPEN' }, granted, socketClosed,
      { type: 'RENEW_TOKEN', token: 'token-2' }, socketClosed, backoff, { type: 'SOCKET_OPEN' },
      { type: 'RENEW_TOKEN', token: 'token-3' }, { type: 'REFUSED', code: 'INVALID_TOKEN' }, backoff, { type: 'SOCKET_OPEN' },
      granted, { type: 'CLOSE' },
    ],
    drive: {
      3: cutAndHoldTheDial,
      4: (run) => {
        const accepted = run.proxy.acceptedCount;
        void run.client.renewToken('not-a-valid-token');
        // Step 5: the held dial ends when the network is restored.
        run.pending.push(parkedDial(run, accepted).then(() => run.proxy.restore()));
      },
      8: (run) => void run.pending.push(run.client.renewToken(run.server.createToken(run.uid))),
      13: (run) => void run.pending.push(run.client.logout()),
    },
  },
  {
    rules: 'R4.4 R6.2 a restarted server forgot the session; the fresh login finds a ban',
    events: [
      open, { type: 'SOCKET_OPEN' }, granted, socketClosed,
      socketClosed, backoff, { type: 'SOCKET_OPEN' }, { type: 'REFUSED', code: 'SESSION_EXPIRED' },
      backoff, socketClosed, backoff, { type: 'SOCKET_OPEN' }, { type: 'REFUSED', code: 'REJECTED' },
      { type: 'CLOSE' },
    ],
    drive: {
      3: cutAndHoldTheDial,
      4: (run) => {
        const accepted = run.proxy.acceptedCount;
        run.pending.push(
          (async () => {
            await parkedDial(run, accepted);
            const port = Number(new URL(run.server.url).port);
            await run.server.close();
            run.server = await createRtmServer({ port, secret: linkSecret, inspector: false, timing: linkTiming, heartbeat: linkHeartbeat });
            run.servers.push(run.server);
            run.proxy.restore(); // step 4: the held dial ends; the next reaches the new server
          })(),
        );
      },
      9: (run) => {
        // Hold the next dial until the ban has landed: it must meet the fresh login, not the resume.
        const accepted = run.proxy.acceptedCount;
        run.proxy.silent();
        run.pending.push(
          (async () => {
            await run.server.ban(run.uid);
            await parkedDial(run, accepted);
            run.proxy.restore();
          })(),
        );
      },
    },
  },
];

/**
 * Follows the real link's transitions against the model's path. Each transition the link takes
 * must be the next one the model predicts (or an ambient one); when a step's transitions are all
 * taken, the link's state must be the model's, and the action behind the next step runs at once,
 * inside that same turn, so that it lands before the network answers.
 */
class LinkFollower {
  private step = 0;
  private taken = 0;
  private settle!: { resolve: () => void; reject: (error: Error) => void };
  readonly finished = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
  private over = false;

  constructor(
    private readonly path: ModelPath,
    private readonly run: () => LinkRun,
    private readonly drive: LinkScenario['drive'],
  ) {}

  start(): void {
    this.act(0);
  }

  get progress(): string {
    return `step ${this.step} (${this.path.steps[this.step]?.event.type ?? 'end'}), ${this.taken} of its transitions taken`;
  }

  readonly onTransition = (key: string, snapshot: { value: StateValue }): void => {
    if (this.over || !/^link[ .]/.test(key)) return;
    const step = this.path.steps[this.step]!;
    if (key !== step.transitions[this.taken]) {
      if (AMBIENT.has(key)) return;
      return this.fail(`the real link took ${key}, the model predicts ${step.transitions[this.taken]}`);
    }
    this.taken += 1;
    if (this.taken < step.transitions.length) return;
    if (JSON.stringify(snapshot.value) !== JSON.stringify(step.to)) {
      return this.fail(`the real link is in ${JSON.stringify(snapshot.value)}, the model predicts ${JSON.stringify(step.to)}`);
    }
    this.step += 1;
    this.taken = 0;
    if (this.step === this.path.steps.length) {
      this.over = true;
      return this.settle.resolve();
    }
    this.act(this.step);
  };

  private act(index: number): void {
    try {
      const done = this.drive[index]?.(this.run());
      if (done instanceof Promise) done.catch((error: unknown) => this.fail(String(error)));
    } catch (error) {
      this.fail(String(error));
    }
  }

  fail(message: string): void {
    if (this.over) return;
    this.over = true;
    this.settle.reject(new Error(`${this.path.description}: at ${this.progress}: ${message}`));
  }
}

describe('16 linkMachine paths executed against the real client, server and network', () => {
  it('16 each link path is a path of the model, whose every step takes a transition', () => {
    for (const scenario of linkScenarios) {
      const path = pathOf(linkModel, scenario.events);
      for (const step of path.steps) expect(step.transitions.length, `${path.description}: ${step.event.type}`).toBeGreaterThan(0);
    }
  });

  it.each(linkScenarios.map((s) => [s.rules, s] as const))('16 link path: %s', async (_, scenario) => {
    const path = pathOf(linkModel, scenario.events);
    const server = await createRtmServer({ port: 0, secret: linkSecret, inspector: false, timing: linkTiming, heartbeat: linkHeartbeat });
    const proxy = await createFaultProxy({ target: server.url });
    const uid = `l-${Math.random().toString(36).slice(2, 10)}`;
    let run!: LinkRun;
    const follower = new LinkFollower(path, () => run, scenario.drive);
    const perPath = new CoverageRecorder(follower.onTransition);
    const client = new RtmClient({
      url: proxy.url,
      timing: linkTiming,
      inspect: (event) => {
        coverage.inspect(event);
        perPath.inspect(event);
      },
      ...(scenario.WebSocket ? { WebSocket: scenario.WebSocket } : {}),
    });
    run = { server, proxy, client, uid, pending: [], servers: [server] };
    const { drive } = scenario;
    try {
      // Step 0 is the login itself; its own action (a network mode) runs first.
      follower.start();
      if (!drive[0] || path.steps[0]!.event.type === 'OPEN') {
        run.pending.push(client.login({ uid, token: server.createToken(uid) }).catch(() => undefined));
      }
      const deadline = setTimeout(() => follower.fail('timed out'), 10_000);
      try {
        await follower.finished;
      } finally {
        clearTimeout(deadline);
      }
      await Promise.all(run.pending);
    } finally {
      await client.logout();
      client.actor.stop();
      await proxy.close();
      for (const s of run.servers) await s.close().catch(() => undefined);
    }
  });

  it('16 the real link took every transition of linkMachine but those no action can cause', () => {
    const defined = definedTransitions(linkMachine);
    for (const key of Object.keys(UNREACHABLE_ON_THE_REAL_CLIENT)) expect(defined).toContain(key);
    const missing = coverage.uncoveredTransitions(linkMachine).filter((key) => !(key in UNREACHABLE_ON_THE_REAL_CLIENT));
    expect(missing).toEqual([]);
    expect(coverage.unvisitedStates(linkMachine)).toEqual([]);
  });
});
