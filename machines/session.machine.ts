/**
 * The server side of one user's presence (R4, R6, R7): online while a socket is attached,
 * away while the link is lost, expired once it has been away for `presenceTimeout`, and ended
 * at once by logout, a login elsewhere or a ban. The server runs one actor of this machine per
 * logged-in uid; when it reaches a final state the server drops the user from the online list
 * and its channels (members receive MemberLeft).
 */
import { assign, emit, setup } from 'xstate';
import { resolveTiming, type Timing } from './timing.js';

export type SessionEndReason = 'PRESENCE_EXPIRED' | 'LOGOUT' | 'REMOTE_LOGIN' | 'BANNED_BY_SERVER';

export interface SessionContext {
  timing: Timing;
  uid: string;
  sessionId: string;
  endReason: SessionEndReason | null;
}

export interface SessionInput {
  uid: string;
  sessionId: string;
  timing?: Partial<Timing>;
}

export type SessionEvent =
  /** The socket closed or stopped answering heartbeats. */
  | { type: 'LINK_LOST' }
  /** A socket resumed the session. */
  | { type: 'RESUMED' }
  | { type: 'LOGOUT' }
  | { type: 'REMOTE_LOGIN' }
  | { type: 'BANNED' };

export type SessionEmitted =
  | { type: 'PresenceChanged'; online: boolean }
  | { type: 'SessionEnded'; reason: SessionEndReason };

export interface SessionOutput {
  uid: string;
  sessionId: string;
  reason: SessionEndReason;
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
    emitted: {} as SessionEmitted,
    output: {} as SessionOutput,
  },
  delays: {
    presenceTimeout: ({ context }) => context.timing.presenceTimeoutMs,
  },
  actions: {
    recordEnd: assign({ endReason: (_, params: { reason: SessionEndReason }) => params.reason }),
    announceEnd: emit(({ context }) => ({ type: 'SessionEnded' as const, reason: context.endReason ?? 'LOGOUT' })),
  },
}).createMachine({
  id: 'session',
  description: 'One user\'s presence on the RTM server.',
  context: ({ input }) => ({
    timing: resolveTiming(input.timing),
    uid: input.uid,
    sessionId: input.sessionId,
    endReason: null,
  }),
  initial: 'online',
  states: {
    online: {
      description: 'A socket is attached and answering.',
      on: { LINK_LOST: 'away', RESUMED: 'online' },
    },
    away: {
      description: 'The link is lost; the user still counts as online and in its channels (R4.1).',
      after: {
        presenceTimeout: { target: 'expired', actions: { type: 'recordEnd', params: { reason: 'PRESENCE_EXPIRED' } } },
      },
      on: { RESUMED: 'online' },
    },
    expired: {
      description: 'Away for the whole presence window: removed from the online list and every channel (R4.3).',
      type: 'final',
      entry: 'announceEnd',
    },
    ended: {
      description: 'Ended at once by logout (R7.1), a login elsewhere (R6.1) or a ban (R6.2).',
      type: 'final',
      entry: 'announceEnd',
    },
  },
  on: {
    LOGOUT: { target: '.ended', actions: { type: 'recordEnd', params: { reason: 'LOGOUT' } } },
    REMOTE_LOGIN: { target: '.ended', actions: { type: 'recordEnd', params: { reason: 'REMOTE_LOGIN' } } },
    BANNED: { target: '.ended', actions: { type: 'recordEnd', params: { reason: 'BANNED_BY_SERVER' } } },
  },
  output: ({ context }) => ({ uid: context.uid, sessionId: context.sessionId, reason: context.endReason ?? 'LOGOUT' }),
});

export type SessionMachine = typeof sessionMachine;
