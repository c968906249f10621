/**
 * The client connection lifecycle of SPEC §3 and rules R1–R7, as one statechart.
 *
 * The machine is pure: it owns no socket and no timer of its own. The link to the server is a
 * child actor named `link`, spawned on login and stopped on logout or abort; the runtime (the
 * RtmClient, or a test) supplies it through `connectionMachine.provide({ actors: { link } })`.
 * The link reports what happens on the wire with LINK_UP, LINK_DOWN, LOGIN_REJECTED,
 * TOKEN_EXPIRED and KICKED; the machine decides what it means. Every change of top-level state
 * emits exactly one `ConnectionStateChanged` with the reason recorded by the transition.
 */
import { assign, emit, enqueueActions, fromCallback, setup, spawnChild, stopChild } from 'xstate';
import type { ConnectionChangeReason, ConnectionState, KickReason } from './reasons.js';
import { resolveTiming, type Timing } from './timing.js';

export interface ConnectionContext {
  timing: Timing;
  /** The uid of the current (or last) login. */
  uid: string | null;
  /** Why the state last changed; null only before the first change. */
  reason: ConnectionChangeReason | null;
  /** TokenExpired is announced once per token (R3.6); RENEW_TOKEN clears this. */
  tokenExpiryAnnounced: boolean;
}

export interface ConnectionInput {
  timing?: Partial<Timing>;
}

/** Events the application sends. */
export type AppEvent =
  | { type: 'LOGIN'; uid: string; token: string }
  | { type: 'LOGOUT' }
  | { type: 'RENEW_TOKEN'; token: string };

/** Events the link actor reports. */
export type LinkEvent =
  /** Logged in, or resumed; `sessionExpired` when the server had already ended the presence session (R4.4). */
  | { type: 'LINK_UP'; sessionExpired: boolean }
  /** The socket closed or its heartbeat went unanswered. */
  | { type: 'LINK_DOWN' }
  /**
   * The server refused the login (`code` is an RtmError code: INVALID_TOKEN, TOKEN_EXPIRED, …),
   * or refused a resume for a token it will never accept (INVALID_TOKEN).
   */
  | { type: 'LOGIN_REJECTED'; code: string }
  /** A resume was refused because the token expired; the session itself lives on (R3.6). */
  | { type: 'TOKEN_EXPIRED' }
  /** The server ended this connection for good (R6). */
  | { type: 'KICKED'; reason: KickReason };

export type ConnectionEvent = AppEvent | LinkEvent;

/** What the link actor is started with. */
export interface LinkInput {
  uid: string;
  token: string;
  timing: Timing;
}

/** Commands the machine sends to its link. */
export type LinkCommand = { type: 'RENEW_TOKEN'; token: string };

/** Events the machine emits (`actor.on(type, handler)`). */
export type ConnectionEmitted =
  | { type: 'ConnectionStateChanged'; state: ConnectionState; reason: ConnectionChangeReason }
  | { type: 'TokenExpired' };

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
    emitted: {} as ConnectionEmitted,
  },
  actors: {
    /** The link to the server. The default does nothing, so the machine can run alone. */
    link: fromCallback<LinkCommand, LinkInput>(() => undefined),
  },
  delays: {
    loginTimeout: ({ context }) => context.timing.loginTimeoutMs,
    interruptionGrace: ({ context }) => context.timing.interruptionGraceMs,
    /** Inside RECONNECTING, only the part of the presence window left after the grace period. */
    presenceTimeout: ({ context }) => context.timing.presenceTimeoutMs - context.timing.interruptionGraceMs,
  },
  guards: {
    tokenHadExpired: ({ event }) => event.type === 'LOGIN_REJECTED' && event.code === 'TOKEN_EXPIRED',
    /** Refused for good, not merely expired (an expired token is renewed while the session lives on, R3.6). */
    tokenRefused: ({ event }) => event.type === 'LOGIN_REJECTED' && event.code !== 'TOKEN_EXPIRED',
    serverEndedPresence: ({ event }) => event.type === 'LINK_UP' && event.sessionExpired,
    tokenExpiryNotYetAnnounced: ({ context }) => !context.tokenExpiryAnnounced,
  },
  actions: {
    recordReason: assign({ reason: (_, params: { reason: ConnectionChangeReason }) => params.reason }),
    recordKickReason: assign(({ event }) => (event.type === 'KICKED' ? { reason: event.reason } : {})),
    rememberUid: assign(({ event }) => (event.type === 'LOGIN' ? { uid: event.uid, tokenExpiryAnnounced: false } : {})),
    // Explicit type arguments: inside setup() TypeScript cannot infer them for enqueueActions.
    announceState: enqueueActions<
      ConnectionContext, ConnectionEvent, { state: ConnectionState }, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ context, enqueue }, params) => {
      if (context.reason !== null) {
        enqueue.emit({ type: 'ConnectionStateChanged', state: params.state, reason: context.reason });
      }
    }),
    openLink: spawnChild('link', {
      id: 'link',
      input: ({ context, event }) => ({
        uid: event.type === 'LOGIN' ? event.uid : (context.uid ?? ''),
        token: event.type === 'LOGIN' ? event.token : '',
        timing: context.timing,
      }),
    }),
    closeLink: stopChild('link'),
    markTokenExpiryAnnounced: assign({ tokenExpiryAnnounced: true }),
    emitTokenExpired: emit({ type: 'TokenExpired' as const }),
    /** The link uses the new token for its next attempt (R3.6); expiry may be announced again. */
    passRenewedTokenToLink: enqueueActions<
      ConnectionContext, ConnectionEvent, undefined, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ event, enqueue }) => {
      if (event.type !== 'RENEW_TOKEN') return;
      enqueue.assign({ tokenExpiryAnnounced: false });
      enqueue.sendTo('link', { type: 'RENEW_TOKEN', token: event.token });
    }),
    /** R4.4: rejoin the app's channels and re-send its attributes. Supplied by the runtime. */
    restoreSession: () => undefined,
  },
}).createMachine({
  id: 'connection',
  description: 'Agora RTM connection state management: login, interruption, reconnection, abort and logout.',
  context: ({ input }) => ({
    timing: resolveTiming(input?.timing),
    uid: null,
    reason: null,
    tokenExpiryAnnounced: false,
  }),
  initial: 'DISCONNECTED',
  states: {
    DISCONNECTED: {
      description: 'Not logged in. The app calls login() (R1.1); after a failure or timeout it must call it again (R2.3).',
      entry: ['closeLink', { type: 'announceState', params: { state: 'DISCONNECTED' } }],
      on: {
        LOGIN: {
          target: 'CONNECTING',
          actions: ['rememberUid', { type: 'recordReason', params: { reason: 'LOGIN' } }, 'openLink'],
        },
      },
    },
    CONNECTING: {
      description: 'Logging in. The SDK needs nothing from the app (R2.1) and ends in CONNECTED or DISCONNECTED (R2.2).',
      entry: { type: 'announceState', params: { state: 'CONNECTING' } },
      after: {
        loginTimeout: {
          target: 'DISCONNECTED',
          actions: { type: 'recordReason', params: { reason: 'LOGIN_TIMEOUT' } },
        },
      },
      on: {
        LINK_UP: { target: 'CONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGIN_SUCCESS' } } },
        LOGIN_REJECTED: [
          {
            guard: 'tokenHadExpired',
            target: 'DISCONNECTED',
            actions: { type: 'recordReason', params: { reason: 'TOKEN_EXPIRED' } },
          },
          { target: 'DISCONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGIN_FAILURE' } } },
        ],
        LOGOUT: { target: 'DISCONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGOUT' } } },
        RENEW_TOKEN: { actions: 'passRenewedTokenToLink' },
      },
    },
    CONNECTED: {
      description: 'Logged in. A lost link is re-dialled at once and silently (R3.1).',
      entry: { type: 'announceState', params: { state: 'CONNECTED' } },
      initial: 'linkUp',
      states: {
        linkUp: {
          description: 'The link is up and its heartbeat answered.',
          on: { LINK_DOWN: 'linkLost' },
        },
        linkLost: {
          description: 'The link is lost; restored within the grace period, nothing is announced (R3.1).',
          after: {
            interruptionGrace: {
              target: '#connection.RECONNECTING',
              actions: { type: 'recordReason', params: { reason: 'INTERRUPTED' } },
            },
          },
          on: {
            LINK_UP: [
              { guard: 'serverEndedPresence', target: 'linkUp', actions: 'restoreSession' },
              { target: 'linkUp' },
            ],
            LOGIN_REJECTED: {
              guard: 'tokenRefused',
              target: '#connection.DISCONNECTED',
              actions: { type: 'recordReason', params: { reason: 'LOGIN_FAILURE' } },
            },
          },
        },
      },
      on: {
        KICKED: { target: 'ABORTED', actions: 'recordKickReason' },
        LOGOUT: { target: 'DISCONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGOUT' } } },
        RENEW_TOKEN: { actions: 'passRenewedTokenToLink' },
      },
    },
    RECONNECTING: {
      description: 'The link stayed lost past the grace period (R3.2). The SDK keeps re-dialling until it succeeds (R3.3).',
      entry: { type: 'announceState', params: { state: 'RECONNECTING' } },
      initial: 'withinPresence',
      states: {
        withinPresence: {
          description: 'The server still counts the user online and in its channels (R4.1).',
          after: { presenceTimeout: 'presenceExpired' },
          on: {
            LINK_UP: [
              {
                guard: 'serverEndedPresence',
                target: '#connection.CONNECTED',
                actions: [{ type: 'recordReason', params: { reason: 'LOGIN_SUCCESS' } }, 'restoreSession'],
              },
              { target: '#connection.CONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGIN_SUCCESS' } } },
            ],
          },
        },
        presenceExpired: {
          description: 'The server has removed the user from the online list and its channels (R4.3).',
          on: {
            LINK_UP: {
              target: '#connection.CONNECTED',
              actions: [{ type: 'recordReason', params: { reason: 'LOGIN_SUCCESS' } }, 'restoreSession'],
            },
          },
        },
      },
      on: {
        TOKEN_EXPIRED: { guard: 'tokenExpiryNotYetAnnounced', actions: ['markTokenExpiryAnnounced', 'emitTokenExpired'] },
        RENEW_TOKEN: { actions: 'passRenewedTokenToLink' },
        LOGIN_REJECTED: {
          guard: 'tokenRefused',
          target: 'DISCONNECTED',
          actions: { type: 'recordReason', params: { reason: 'LOGIN_FAILURE' } },
        },
        KICKED: { target: 'ABORTED', actions: 'recordKickReason' },
        LOGOUT: { target: 'DISCONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGOUT' } } },
      },
    },
    ABORTED: {
      description: 'Kicked out by a login elsewhere or a ban (R6); the link is closed and never re-dialled.',
      entry: ['closeLink', { type: 'announceState', params: { state: 'ABORTED' } }],
      on: {
        LOGOUT: { target: 'DISCONNECTED', actions: { type: 'recordReason', params: { reason: 'LOGOUT' } } },
      },
    },
  },
});

export type ConnectionMachine = typeof connectionMachine;
