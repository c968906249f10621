/**
 * Model-based, end to end: paths generated from connectionMachine with xstate/graph (one per
 * transition, see `transitionCoveragePaths`) are executed against a real RtmClient, the real
 * server and the fault proxy. Every machine event is mapped to a real action — a login with a
 * good, bad or expiring token, a logout, a network cut, a restored network, a second client
 * logging in with the same uid, a ban, or waiting out a delay — and after every step the
 * client's machine state and the (state, reason) events it announced must be those the model
 * predicts. The transitions the real client's actor took are recorded; the last test fails if
 * any transition of the machine was not taken, so a new transition without a mapping fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtmClient, type Timing } from '../../src/index.js';
import { createRtmServer, type RtmServer } from '../../src/server/index.js';
import {
  CoverageRecorder,
  createFaultProxy,
  delayOf,
  executePath,
  transitionCoveragePaths,
  type FaultProxy,
  type ModelPath,
  type ModelStep,
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
  const observer = new RtmClient({ url: server.url, timing: serverTiming });
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

/** What a path needs while it runs. */
interface PathRun {
  rig: Rig;
  uid: string;
  client: RtmClient;
  clientTiming: Timing;
  announced: string[];
  tokenExpiresAt: number;
  others: RtmClient[];
}

function needsShortPresence(path: ModelPath): boolean {
  return path.steps.some(
    (s) =>
      s.event.type === 'LINK_UP' &&
      s.event.sessionExpired &&
      JSON.stringify(s.from) !== JSON.stringify({ RECONNECTING: 'presenceExpired' }),
  );
}

function linkIsDown(step: ModelStep): boolean {
  const from = JSON.stringify(step.from);
  return from.includes('linkLost') || from.includes('RECONNECTING');
}

async function serverForgot(run: PathRun): Promise<void> {
  for (;;) {
    const status = await run.rig.observer.queryPeersOnlineStatus([run.uid]);
    if (status[run.uid] === false) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The real action behind each machine event. */
async function perform(step: ModelStep, run: PathRun, index: number, path: ModelPath): Promise<void> {
  const { proxy, server } = run.rig;
  const delay = delayOf(step.event);
  if (delay) return; // the real system runs its own timer; `check` waits for its effect
  const event = step.event as Exclude<ModelStep['event'], { type: `xstate.after.${string}` }>;
  switch (event.type) {
    case 'LOGIN': {
      const next = path.steps[index + 1]?.event;
      let token = server.createToken(run.uid);
      if (next?.type === 'LOGIN_REJECTED') {
        token = next.code === 'TOKEN_EXPIRED' ? server.createToken(run.uid, { expiresInSeconds: -5 }) : 'not-a-valid-token';
      } else if (path.steps.some((s) => s.event.type === 'TOKEN_EXPIRED')) {
        token = server.createToken(run.uid, { expiresInSeconds: 1 });
        run.tokenExpiresAt = Date.now() + 1000;
      }
      proxy.silent(); // CONNECTING holds until the next step lets the login through
      run.client.login({ uid: run.uid, token }).catch(() => undefined);
      return;
    }
    case 'LINK_UP':
      if (event.sessionExpired && (linkIsDown(step) && !JSON.stringify(step.from).includes('presenceExpired'))) {
        await serverForgot(run);
      }
      proxy.restore();
      return;
    case 'LOGIN_REJECTED':
      // While the link is down: the app renews with a token the server will never accept, and
      // the resume that presents it is refused (R11: the login ends, LOGIN_FAILURE).
      if (linkIsDown(step)) await run.client.renewToken('not-a-valid-token');
      proxy.restore();
      return;
    case 'LINK_DOWN':
      proxy.silent();
      proxy.cut();
      return;
    case 'LOGOUT':
      await run.client.logout();
      return;
    case 'RENEW_TOKEN':
      await run.client.renewToken(server.createToken(run.uid));
      return;
    case 'KICKED':
      if (event.reason === 'REMOTE_LOGIN') {
        const other = new RtmClient({ url: server.url, timing: run.clientTiming });
        run.others.push(other);
        await other.login({ uid: run.uid, token: server.createToken(run.uid) });
      } else {
        server.ban(run.uid);
      }
      if (linkIsDown(step)) proxy.restore(); // the kick arrives on the resume
      return;
    case 'TOKEN_EXPIRED':
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, run.tokenExpiresAt - Date.now() + 50)));
      proxy.restore(); // the next resume presents the expired token
      return;
    default:
      throw new Error(`no real action is mapped to ${(event as { type: string }).type}`);
  }
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
    const run: PathRun = { rig: r, uid, client, clientTiming, announced: [], tokenExpiresAt: 0, others: [] };
    client.on('ConnectionStateChanged', (state, reason) => run.announced.push(`${state}/${reason}`));
    client.on('TokenExpired', () => run.announced.push('TokenExpired'));
    try {
      let expectedAnnouncements: string[] = [];
      await executePath(path, run, {
        perform: (step, context, index) => perform(step, context, index, path),
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
