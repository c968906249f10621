/**
 * The link to the server as a statechart: one logical connection for the life of a login, made
 * of as many WebSockets as it takes. It dials, logs in (the first time) or resumes (afterwards),
 * runs the heartbeat, notices a lost or black-holed socket, backs off and re-dials, and reports
 * what happened to its parent, the connection machine, as link events (LINK_UP, LINK_DOWN,
 * LOGIN_REJECTED, TOKEN_EXPIRED, KICKED). It never decides a connection state itself, and it
 * keeps no clock of its own for the grace period: the connection machine tells it when the
 * connection is RECONNECTING, which is all the backoff needs to know (R3.1, R3.3).
 *
 * The machine is pure like the connection machine. The WebSocket is the child actor `socket`,
 * invoked for the life of the link: it reports SOCKET_OPEN, SOCKET_CLOSED, GRANTED, REFUSED,
 * KICK and PROGRESS for the attempt under way, SILENT from its heartbeat, and closes when the
 * link stops. (One long-lived child rather than one invoked per attempt: creating and stopping
 * an actor on every login and re-dial was most of the cost of a login in the connection-machine
 * benchmark.) `up` starts the heartbeat on entry, with the granted interval and timeout, and
 * stops it on exit; its ticks are the socket adapter's own timer, not transitions of the chart,
 * so that an idle link costs the interpreter nothing (a transition a second made an idle client
 * about half as expensive again and the reconnect storm slower, issue 16). Everything the link
 * does to its socket is a named action: dial and hang up as an attempt (dial, authenticate, up)
 * begins and ends, start and stop the heartbeat, send the login or resume, the logout, the
 * farewell of a logout while the link is down. The runtime supplies them, the socket actor and
 * the backoff's jitter (a named delay) through `linkMachine.provide`; its actions call the
 * socket directly, since a command through a child's mailbox cost about 5 µs and a reconnect
 * takes several. Ordinary data frames never pass through the machine.
 */
import { and, assign, enqueueActions, fromCallback, raise, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { KickReason } from './reasons.js';
import { resolveTiming, type Timing } from './timing.js';

/** What a grant tells the link (the runtime's grant carries more; `applyGrant` sees all of it). */
export interface LinkGrant {
  sessionId: string;
  sessionExpired: boolean;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

/** Commands from the connection machine. */
export type LinkCommand =
  /** LOGIN: start a link for this user (a fresh login, no session yet). */
  | { type: 'OPEN'; uid: string; token: string; timing: Timing }
  /** Logout or abort: end the link; say goodbye if the server still holds the session. */
  | { type: 'CLOSE' }
  /** The next attempt presents this token (R3.6). */
  | { type: 'RENEW_TOKEN'; token: string }
  /** The connection's phase, which sets the backoff: the grace clock is the connection machine's. */
  | { type: 'CONNECTION_PHASE'; reconnecting: boolean };

/** What the socket actor reports, for the attempt under way. */
export type SocketEvent =
  | { type: 'SOCKET_OPEN' }
  /** The socket closed, or could not be opened at all; `code` as the WebSocket reported it. */
  | { type: 'SOCKET_CLOSED'; code: number }
  /** The login or resume was granted. */
  | { type: 'GRANTED'; grant: LinkGrant }
  /** The login or resume was refused with this RtmError code. */
  | { type: 'REFUSED'; code: string }
  /** The server ended the connection for good (R6). */
  | { type: 'KICK'; reason: KickReason }
  /** From the heartbeat: nothing heard for a heartbeat timeout, a black hole; `silentMs` since the last frame. */
  | { type: 'SILENT'; silentMs: number }
  /** The dial has left, or a frame arrived while the login or resume awaits its answer: the attempt is moving. */
  | { type: 'PROGRESS' }
  /** The attempt timeout ran out and, judged after the next poll phase, nothing had arrived. */
  | { type: 'STALLED' };

export type LinkMachineEvent = LinkCommand | SocketEvent;

/** The timing until the first OPEN brings the login's own. */
export interface LinkMachineInput {
  timing?: Partial<Timing>;
}

export interface LinkContext {
  timing: Timing;
  uid: string;
  /** The token the next attempt presents. */
  token: string;
  /** The token the current attempt presented (a refusal of an old token says nothing about a renewed one). */
  attemptToken: string;
  /** Set by the first grant; a link with a session resumes instead of logging in. */
  sessionId: string | null;
  /** The server forgot the session without a logout: log in afresh and restore (R4.4). */
  mustRestore: boolean;
  /** Consecutive failed attempts, the one just failed included. */
  failures: number;
  /** The connection is RECONNECTING: back off further (R3.3); otherwise stay quick (R3.1). */
  reconnecting: boolean;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

/** The heartbeat's cadence, from the grant (`startHeartbeat`). */
export interface HeartbeatCadence {
  intervalMs: number;
  timeoutMs: number;
}

/** What `sendHello` sends: a login, or a resume of `sessionId`. */
export interface Hello {
  uid: string;
  token: string;
  /** null: log in; otherwise resume this session. */
  sessionId: string | null;
}

/**
 * How long one phase of an attempt (dialing until the socket opens, authenticating until the
 * answer) may go without progress before the attempt is abandoned: one second at least, so that
 * a loaded machine is not mistaken for a dead network; never past the login timeout.
 */
export function attemptTimeoutMs(timing: Timing): number {
  return Math.min(timing.loginTimeoutMs, Math.max(1000, Math.min(5000, timing.interruptionGraceMs / 2)));
}

/**
 * The ceiling of the wait before the next attempt (see src/client/backoff.ts for the reasoning):
 * min(500 ms, grace / 8) while logging in and inside the grace period; in RECONNECTING doubling
 * from cap / 16 up to the cap, min(2 s, grace / 2).
 */
export function redialCeilingMs(timing: Timing, failures: number, reconnecting: boolean): number {
  const capMs = Math.min(2000, timing.interruptionGraceMs / 2);
  if (!reconnecting) return Math.min(500, timing.interruptionGraceMs / 8);
  const firstMs = Math.max(5, capMs / 16);
  return Math.min(capMs, firstMs * 2 ** Math.min(Math.max(0, failures), 16));
}

/** "Equal jitter": between half the ceiling and the ceiling; `random` in [0, 1). */
export function redialDelayMs(timing: Timing, failures: number, reconnecting: boolean, random: number): number {
  const ceiling = redialCeilingMs(timing, failures, reconnecting);
  return ceiling / 2 + (random * ceiling) / 2;
}

type LinkReport =
  | { type: 'LINK_UP'; sessionExpired: boolean }
  /** `closeCode` as the socket reported its close; none for a socket that went silent (nobody closed it). */
  | { type: 'LINK_DOWN'; closeCode?: number; silentMs: number; heartbeatTimeoutMs: number }
  | { type: 'LOGIN_REJECTED'; code: string }
  | { type: 'TOKEN_EXPIRED' }
  | { type: 'KICKED'; reason: KickReason };

const codeOf = (event: LinkMachineEvent): string => (event.type === 'REFUSED' ? event.code : '');

/**
 * The two phases of an attempt (dialing, authenticating) watch it the same way: waiting while
 * something arrives, overdue (judged after the next poll phase) once the attempt timeout passed
 * without progress, and given up then.
 */
const watchProgress = {
  initial: 'waiting',
  states: {
    waiting: {
      after: { attemptTimeout: 'overdue' },
      on: { PROGRESS: { target: 'waiting', reenter: true } },
    },
    overdue: { entry: 'judgeAttempt', on: { STALLED: '#link.backingOff', PROGRESS: 'waiting' } },
  },
} as const;

export const linkMachine = setup({
  types: {
    context: {} as LinkContext,
    input: {} as LinkMachineInput,
    events: {} as LinkMachineEvent,
  },
  actors: {
    /**
     * The WebSocket of each attempt in turn: what it reports (SILENT from its heartbeat too), and
     * its end when the link stops. The default never opens, so the machine can run alone.
     */
    socket: fromCallback<EventObject, undefined>(() => undefined),
  },
  delays: {
    attemptTimeout: ({ context }) => attemptTimeoutMs(context.timing),
    /** The middle of the jitter range; the runtime provides one with randomness. */
    backoff: ({ context }) => redialDelayMs(context.timing, context.failures - 1, context.reconnecting, 0.5),
  },
  guards: {
    firstLogin: ({ context }) => context.sessionId === null,
    hasSession: ({ context }) => context.sessionId !== null,
    /** The token the refused attempt presented is still the one the app wants used. */
    tokenStillCurrent: ({ context }) => context.attemptToken === context.token,
    refusedAs: ({ event }, params: { codes: readonly string[] }) => params.codes.includes(codeOf(event)),
  },
  actions: {
    startLink: assign(({ event, context }) =>
      event.type === 'OPEN'
        ? {
            timing: event.timing,
            uid: event.uid,
            token: event.token,
            attemptToken: '',
            sessionId: null,
            mustRestore: false,
            failures: 0,
            reconnecting: false,
          }
        : context,
    ),
    takeToken: assign(({ event, context }) => (event.type === 'RENEW_TOKEN' ? { token: event.token } : { token: context.token })),
    takePhase: assign(({ event, context }) =>
      event.type === 'CONNECTION_PHASE' ? { reconnecting: event.reconnecting } : { reconnecting: context.reconnecting },
    ),
    rememberAttemptToken: assign(({ context }) => ({ attemptToken: context.token })),
    countFailure: assign(({ context }) => ({ failures: context.failures + 1 })),
    resetFailures: assign({ failures: 0 }),
    forgetSession: assign({ mustRestore: true, failures: 0 }),
    recordGrant: assign(({ event, context }) =>
      event.type === 'GRANTED'
        ? {
            sessionId: event.grant.sessionId,
            mustRestore: false,
            failures: 0,
            reconnecting: false,
            heartbeatIntervalMs: event.grant.heartbeatIntervalMs,
            heartbeatTimeoutMs: event.grant.heartbeatTimeoutMs,
          }
        : context,
    ),
    /** Reports to the connection machine; a link running alone (a test) has no parent. */
    report: enqueueActions<
      LinkContext, LinkMachineEvent, { event: LinkReport } | undefined, LinkMachineEvent,
      never, never, never, never, never
    >(({ enqueue, self, context, event }, params) => {
      const parent = (self as AnyActorRef)._parent;
      const report = params?.event ?? reportFor(context, event);
      if (parent && report) enqueue.sendTo(parent, report);
    }),
    /**
     * The attempt timeout ran out: STALLED, unless something arrived. The runtime judges after
     * the next poll phase, so that an answer that arrived during an event-loop stall is read first.
     */
    judgeAttempt: raise({ type: 'STALLED' as const }),
    /** The attempt begins: the socket dials. Supplied by the runtime. */
    dial: () => undefined,
    /** The attempt ends: the socket closes without a word; nothing it reports afterwards reaches the link. Supplied by the runtime. */
    hangUp: () => undefined,
    /** Up: the heartbeat runs at the cadence the grant set. Supplied by the runtime. */
    startHeartbeat: (_, _params: HeartbeatCadence) => undefined,
    /** No longer up: the heartbeat stops. Supplied by the runtime. */
    stopHeartbeat: () => undefined,
    /** Sends the login (no session, or the server forgot it) or the resume. Supplied by the runtime. */
    sendHello: (_, _params: Hello) => undefined,
    /** Sends the logout on the socket that is up, before it closes (R7.1). Supplied by the runtime. */
    sendLogout: () => undefined,
    /** Logged out while the link is down: one bounded attempt to tell the server (R7.1). Supplied by the runtime. */
    sayFarewell: (_, _params: Hello) => undefined,
    /** The grant's other facts (clock, epoch, send rate, recovery) for the runtime, before LINK_UP. */
    applyGrant: (_, _params: { fresh: boolean; sessionExpired: boolean }) => undefined,
  },
}).createMachine({
  id: 'link',
  description: 'The link to the server: dial, log in or resume, heartbeat, back off and re-dial, until the connection machine closes it.',
  context: ({ input }) => ({
    timing: resolveTiming(input?.timing),
    uid: '',
    token: '',
    attemptToken: '',
    sessionId: null,
    mustRestore: false,
    failures: 0,
    reconnecting: false,
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 2000,
  }),
  invoke: { id: 'socket', src: 'socket' },
  initial: 'idle',
  on: {
    RENEW_TOKEN: { actions: 'takeToken' },
    CONNECTION_PHASE: { actions: 'takePhase' },
    CLOSE: [
      {
        guard: 'hasSession',
        target: '.idle',
        actions: {
          type: 'sayFarewell',
          params: ({ context }) => ({ uid: context.uid, token: context.token, sessionId: context.sessionId }),
        },
      },
      { target: '.idle' },
    ],
  },
  states: {
    idle: {
      description: 'No login: the connection machine opens the link on LOGIN.',
      on: {
        OPEN: { target: 'attempt', actions: 'startLink' },
        CLOSE: {},
      },
    },
    attempt: {
      description: 'One WebSocket: dialled, then authenticated, then up until it is lost.',
      entry: 'dial',
      exit: 'hangUp',
      initial: 'dialing',
      on: {
        KICK: { target: 'halted', actions: 'report' },
      },
      states: {
        dialing: {
          description: 'The socket is opening; a phase without progress for the attempt timeout is abandoned.',
          ...watchProgress,
          on: {
            SOCKET_OPEN: 'authenticating',
            SOCKET_CLOSED: '#link.backingOff',
          },
        },
        authenticating: {
          description: 'The login (first time, or after the server forgot the session) or the resume is sent.',
          entry: [
            'rememberAttemptToken',
            {
              type: 'sendHello',
              params: ({ context }) => ({
                uid: context.uid,
                token: context.token,
                sessionId: context.mustRestore ? null : context.sessionId,
              }),
            },
          ],
          ...watchProgress,
          on: {
            GRANTED: {
              target: 'up',
              actions: [
                {
                  type: 'applyGrant',
                  params: ({ context, event }) => ({
                    fresh: context.sessionId === null,
                    sessionExpired: context.sessionId !== null && (context.mustRestore || (event as { grant: LinkGrant }).grant.sessionExpired),
                  }),
                },
                'report',
                'recordGrant',
              ],
            },
            REFUSED: [
              // R1.3: the first login refused ends it; the connection machine goes DISCONNECTED.
              { guard: 'firstLogin', target: '#link.halted', actions: 'report' },
              // R6: banned.
              { guard: { type: 'refusedAs', params: { codes: ['REJECTED'] } }, target: '#link.halted', actions: 'report' },
              // A token that will never be accepted ends the login (R11)…
              {
                guard: and([{ type: 'refusedAs', params: { codes: ['INVALID_TOKEN', 'INVALID_ARGUMENT'] } }, 'tokenStillCurrent']),
                target: '#link.halted',
                actions: 'report',
              },
              // R3.6: expired; the session lives on, the app is told and may renew the token.
              {
                guard: and([{ type: 'refusedAs', params: { codes: ['TOKEN_EXPIRED'] } }, 'tokenStillCurrent']),
                target: '#link.backingOff',
                actions: 'report',
              },
              // …unless the app has replaced the token since: the refusal says nothing about the new one.
              {
                guard: { type: 'refusedAs', params: { codes: ['INVALID_TOKEN', 'INVALID_ARGUMENT', 'TOKEN_EXPIRED'] } },
                target: '#link.backingOff',
                actions: 'resetFailures',
              },
              // The server no longer knows the session though we never logged out: log in afresh.
              {
                guard: { type: 'refusedAs', params: { codes: ['SESSION_EXPIRED'] } },
                target: '#link.backingOff',
                actions: 'forgetSession',
              },
              { target: '#link.backingOff' },
            ],
            SOCKET_CLOSED: '#link.backingOff',
          },
        },
        up: {
          description: 'Granted; the heartbeat runs. A lost socket is re-dialled at once (R3.1).',
          entry: {
            type: 'startHeartbeat',
            params: ({ context }) => ({ intervalMs: context.heartbeatIntervalMs, timeoutMs: context.heartbeatTimeoutMs }),
          },
          // Leaving because the link is closed (a logout): the logout goes out while the socket is
          // still there, in this exit, because the attempt's exit (`hangUp`) runs before any action
          // of the transition would (R7.1).
          exit: [
            'stopHeartbeat',
            enqueueActions(({ enqueue, event }) => {
              if (event.type === 'CLOSE') enqueue('sendLogout');
            }),
          ],
          on: {
            SOCKET_CLOSED: { target: '#link.attempt', reenter: true, actions: ['report', 'resetFailures'] },
            SILENT: { target: '#link.attempt', reenter: true, actions: ['report', 'resetFailures'] },
            // The logout leaves in this state's exit, above.
            CLOSE: { target: '#link.idle' },
          },
        },
      },
    },
    backingOff: {
      description: 'Between attempts: a short wait inside the grace period, a growing one in RECONNECTING (R3.3).',
      entry: 'countFailure',
      after: { backoff: 'attempt' },
    },
    halted: {
      description: 'Refused for good or kicked: nothing is re-dialled until the connection machine closes the link.',
      on: { CLOSE: 'idle' },
    },
  },
});

/** The link event a transition reports, from the event that caused it. */
function reportFor(context: LinkContext, event: LinkMachineEvent): LinkReport | null {
  switch (event.type) {
    case 'GRANTED':
      return { type: 'LINK_UP', sessionExpired: context.sessionId !== null && (context.mustRestore || event.grant.sessionExpired) };
    case 'SOCKET_CLOSED':
      return { type: 'LINK_DOWN', closeCode: event.code, silentMs: 0, heartbeatTimeoutMs: context.heartbeatTimeoutMs };
    case 'SILENT':
      return { type: 'LINK_DOWN', silentMs: event.silentMs, heartbeatTimeoutMs: context.heartbeatTimeoutMs };
    case 'KICK':
      return { type: 'KICKED', reason: event.reason };
    case 'REFUSED':
      // A first login refused is a failed login, whatever the reason (R1.3).
      if (context.sessionId === null) return { type: 'LOGIN_REJECTED', code: event.code };
      if (event.code === 'REJECTED') return { type: 'KICKED', reason: 'BANNED_BY_SERVER' };
      if (event.code === 'TOKEN_EXPIRED') return { type: 'TOKEN_EXPIRED' };
      return { type: 'LOGIN_REJECTED', code: event.code };
    default:
      return null;
  }
}

export type LinkMachine = typeof linkMachine;
