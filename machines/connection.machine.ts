/**
 * The client connection lifecycle of SPEC §3 and rules R1–R7, as one statechart.
 *
 * The machine is pure: it owns no socket and no timer of its own. The link to the server is the
 * child statechart `linkMachine` (machines/link.machine.ts), invoked as `link` for the machine's
 * whole life: the machine opens it on LOGIN and closes it on logout or abort, and tells it when
 * the connection is RECONNECTING. It is invoked at the root rather than on a state because it
 * lives across CONNECTING, CONNECTED and RECONNECTING: a state around those three would add a
 * level to every state value the API promises (`connectionState`, the snapshot's `value`).
 * The runtime (the RtmClient, or a test) supplies the link's socket through `provide`.
 * The link reports what happens on the wire with LINK_UP, LINK_DOWN, LOGIN_REJECTED,
 * TOKEN_EXPIRED and KICKED; the machine decides what it means. Every change of top-level state
 * emits exactly one `ConnectionStateChanged` with the reason recorded by the transition.
 *
 * One owner per fact: the grace clock is this machine's (`interruptionGrace`, counted from the
 * link's last sign of life, R3.2); the outbox is opened and held by the named actions
 * `openOutbox` and `holdOutbox`; the server's reason for a refused login is `context.rejection`.
 */
import { assign, emit, enqueueActions, setup, type AnyActorLogic, type AnyActorRef } from 'xstate';
import { linkMachine, type LinkCommand } from './link.machine.js';
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
  /** The RtmError code the server refused the login with (R1.3, R11); null until it does. */
  rejection: string | null;
  /** The link has been opened and not yet closed. */
  linkOpen: boolean;
  /**
   * The grace the current loss gets (R3.2): all of it for a close; for a black hole, what is left
   * of it after the silence the heartbeat took to notice, but at least one heartbeat timeout (the
   * time a link is given to answer), so that the re-dial at once can still bring it back silently.
   * With the server's heartbeat (timeout ≤ grace / 2) RECONNECTING still comes within one
   * heartbeat interval of the grace's end, counted from the last frame.
   */
  graceLeftMs: number;
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
  /**
   * The socket closed or its heartbeat went unanswered. `silentMs`: nothing had been heard for
   * this long (0 for a close), so that the grace counts from the last sign of life (R3.2), and
   * `heartbeatTimeoutMs` the heartbeat's timeout; `closeCode` as the socket reported it (1009: a
   * message was too large; none for a silent link).
   */
  | { type: 'LINK_DOWN'; silentMs?: number; heartbeatTimeoutMs?: number; closeCode?: number }
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

/** What the link actor is started with: nothing; OPEN carries the user, the token and the timing. */
export type LinkInput = undefined;

export type { LinkCommand };

/** Events the machine emits (`actor.on(type, handler)`). */
export type ConnectionEmitted =
  | { type: 'ConnectionStateChanged'; state: ConnectionState; reason: ConnectionChangeReason }
  | { type: 'TokenExpired' };

/** The link child is there (a chart imported from its JSON definition runs without it). */
const hasLink = (self: AnyActorRef): boolean =>
  (self.getSnapshot() as { children?: Record<string, unknown> }).children?.['link'] !== undefined;

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
    emitted: {} as ConnectionEmitted,
  },
  actors: {
    /** The link to the server; its default socket never opens, so the machine can run alone. */
    // Typed as any logic, so that a test (or a runtime) may stand in for the link; it takes LinkCommand.
    link: linkMachine as AnyActorLogic,
  },
  delays: {
    loginTimeout: ({ context }) => context.timing.loginTimeoutMs,
    /** From the link's last sign of life: a black hole's detection time is part of the grace (R3.2). */
    interruptionGrace: ({ context }) => context.graceLeftMs,
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
    /** R1.1: one assign for everything a login sets (the uid, the reason, the link now open): a login is frequent. */
    startLogin: assign(({ event }) =>
      event.type === 'LOGIN'
        ? { uid: event.uid, tokenExpiryAnnounced: false, rejection: null, reason: 'LOGIN' as ConnectionChangeReason, linkOpen: true }
        : {},
    ),
    recordRejection: assign(({ event }) => (event.type === 'LOGIN_REJECTED' ? { rejection: event.code } : {})),
    recordSilence: assign(({ context, event }) => {
      const graceMs = context.timing.interruptionGraceMs;
      const silentMs = event.type === 'LINK_DOWN' ? (event.silentMs ?? 0) : 0;
      if (silentMs <= 0 || event.type !== 'LINK_DOWN') return { graceLeftMs: graceMs };
      return { graceLeftMs: Math.min(graceMs, Math.max(event.heartbeatTimeoutMs ?? 0, graceMs - silentMs)) };
    }),
    // Explicit type arguments: inside setup() TypeScript cannot infer them for enqueueActions.
    announceState: enqueueActions<
      ConnectionContext, ConnectionEvent, { state: ConnectionState }, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ context, enqueue }, params) => {
      if (context.reason !== null) {
        enqueue.emit({ type: 'ConnectionStateChanged', state: params.state, reason: context.reason });
      }
    }),
    /** Opens the link for the login (`startLogin` marked it open). */
    openLink: enqueueActions<
      ConnectionContext, ConnectionEvent, undefined, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ context, event, enqueue, self }) => {
      if (event.type === 'LOGIN' && hasLink(self)) {
        enqueue.sendTo('link', { type: 'OPEN', uid: event.uid, token: event.token, timing: context.timing } satisfies LinkCommand);
      }
    }),
    closeLink: enqueueActions<
      ConnectionContext, ConnectionEvent, undefined, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ context, enqueue, self }) => {
      if (!context.linkOpen) return;
      enqueue.assign({ linkOpen: false });
      if (hasLink(self)) enqueue.sendTo('link', { type: 'CLOSE' } satisfies LinkCommand);
    }),
    /** The backoff follows the connection's phase; the grace clock stays here. */
    tellLinkReconnecting: enqueueActions<
      ConnectionContext, ConnectionEvent, undefined, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ context, enqueue, self }) => {
      if (context.linkOpen && hasLink(self)) enqueue.sendTo('link', { type: 'CONNECTION_PHASE', reconnecting: true } satisfies LinkCommand);
    }),
    markTokenExpiryAnnounced: assign({ tokenExpiryAnnounced: true }),
    emitTokenExpired: emit({ type: 'TokenExpired' as const }),
    /** The link uses the new token for its next attempt (R3.6); expiry may be announced again. */
    passRenewedTokenToLink: enqueueActions<
      ConnectionContext, ConnectionEvent, undefined, ConnectionEvent,
      never, never, never, never, ConnectionEmitted
    >(({ event, enqueue, self }) => {
      if (event.type !== 'RENEW_TOKEN') return;
      enqueue.assign({ tokenExpiryAnnounced: false });
      if (hasLink(self)) enqueue.sendTo('link', { type: 'RENEW_TOKEN', token: event.token } satisfies LinkCommand);
    }),
    /** R4.4: rejoin the app's channels and re-send its attributes. Supplied by the runtime. */
    restoreSession: () => undefined,
    /** The link is up and the session restored: queued requests may leave. Supplied by the runtime. */
    openOutbox: () => undefined,
    /** The link is lost (LINK_DOWN): requests wait; after a 1009 close, one at a time. Supplied by the runtime. */
    holdOutbox: () => undefined,
  },
}).createMachine({
  id: 'connection',
  description: 'Agora RTM connection state management: login, interruption, reconnection, abort and logout.',
  context: ({ input }) => {
    const timing = resolveTiming(input?.timing);
    return {
      timing,
      uid: null,
      reason: null,
      tokenExpiryAnnounced: false,
      rejection: null,
      linkOpen: false,
      graceLeftMs: timing.interruptionGraceMs,
    };
  },
  invoke: { id: 'link', src: 'link' },
  initial: 'DISCONNECTED',
  states: {
    DISCONNECTED: {
      description: 'Not logged in. The app calls login() (R1.1); after a failure or timeout it must call it again (R2.3).',
      entry: ['closeLink', { type: 'announceState', params: { state: 'DISCONNECTED' } }],
      on: {
        LOGIN: {
          target: 'CONNECTING',
          actions: ['startLogin', 'openLink'],
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
            actions: ['recordRejection', { type: 'recordReason', params: { reason: 'TOKEN_EXPIRED' } }],
          },
          { target: 'DISCONNECTED', actions: ['recordRejection', { type: 'recordReason', params: { reason: 'LOGIN_FAILURE' } }] },
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
          description: 'The link is up and its heartbeat answered; queued requests leave.',
          entry: 'openOutbox',
          on: {
            LINK_DOWN: {
              target: 'linkLost',
              actions: ['recordSilence', 'holdOutbox'],
            },
          },
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
              actions: ['recordRejection', { type: 'recordReason', params: { reason: 'LOGIN_FAILURE' } }],
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
      entry: [{ type: 'announceState', params: { state: 'RECONNECTING' } }, 'tellLinkReconnecting'],
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
          actions: ['recordRejection', { type: 'recordReason', params: { reason: 'LOGIN_FAILURE' } }],
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
