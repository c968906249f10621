/**
 * The real action behind each event of connectionMachine, for running a model path against a
 * real `RtmClient`, a real server and a `FaultProxy` between them: a login with a good, bad or
 * expiring token, a logout, a network cut, a restored network, a second client logging in
 * with the same uid, a ban, or waiting out a delay. The model-based tests (paths generated
 * from the machine) and the replay of an inspector recording both use it.
 */
import { RtmClient } from '../index.js';
import type { Timing } from '../../machines/timing.js';
import type { RtmServer } from '../server/index.js';
import type { FaultProxy } from './fault-proxy.js';
import { delayOf, type ModelPath, type ModelStep } from './model.js';

/** What a path needs while it runs against the real system. */
export interface RealRun {
  server: RtmServer;
  /** The client dials the server through it (its `url`). */
  proxy: FaultProxy;
  /** A second, logged-in client that asks the server about presence. */
  observer: RtmClient;
  uid: string;
  client: RtmClient;
  clientTiming: Partial<Timing>;
  /** When the token of a path with TOKEN_EXPIRED runs out (set by its LOGIN). */
  tokenExpiresAt: number;
  /** Clients the path created (a login elsewhere), to log out at the end. */
  others: RtmClient[];
}

/** The client's link is down before this step (it starts in CONNECTED.linkLost or RECONNECTING). */
export function linkIsDown(step: ModelStep): boolean {
  const from = JSON.stringify(step.from);
  return from.includes('linkLost') || from.includes('RECONNECTING');
}

async function serverForgot(run: RealRun): Promise<void> {
  for (;;) {
    const status = await run.observer.queryPeersOnlineStatus([run.uid]);
    if (status[run.uid] === false) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Makes the real system do what the step's event stands for. Delays do nothing here: the real
 * client runs its own timers, and the caller waits for their effect.
 */
export async function performOnRealSystem(step: ModelStep, run: RealRun, index: number, path: ModelPath): Promise<void> {
  const { proxy, server } = run;
  if (delayOf(step.event)) return;
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
      if (event.sessionExpired && linkIsDown(step) && !JSON.stringify(step.from).includes('presenceExpired')) {
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
