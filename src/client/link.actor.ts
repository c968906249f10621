/**
 * The link machine as the RtmClient runs it: `linkMachine` with its `socket` actor, its named
 * socket actions and the backoff's jitter supplied. One provided machine serves every client;
 * each part finds its client's LinkSocket (and grant handler) through the actor system, which
 * is the client's own.
 */
import { fromCallback, type ActorSystem, type EventObject } from 'xstate';
import {
  attemptTimeoutMs,
  linkMachine,
  redialDelayMs,
  type LinkGrant,
  type SocketEvent,
} from '../../machines/link.machine.js';
import type { LinkSocket } from './link.js';

/** After the next poll phase (browsers have no setImmediate: a 0 ms timeout). */
const afterPollPhase: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/** The actor system of one connection machine (one per RtmClient). */
export type AnyActorSystem = ActorSystem<any>;

export interface LinkRuntime {
  socket: LinkSocket;
  /** A grant, before the connection machine hears LINK_UP (the clock, the epoch, the send rate, R11). */
  granted(grant: LinkGrant, how: { fresh: boolean; sessionExpired: boolean }): void;
}

export function runtimeLink(runtimeOf: (system: AnyActorSystem) => LinkRuntime, random: () => number = Math.random) {
  return linkMachine.provide({
    // The socket is the link's child for what it reports (its `sendBack`: the attempt's events
    // and the heartbeat's SILENT) and for its lifetime (stopping the link closes the socket and
    // stops the heartbeat). What the link does to it is the named actions below, which call the
    // socket adapter directly.
    actors: {
      socket: fromCallback<EventObject, undefined>(({ sendBack, system }) => {
        const { socket } = runtimeOf(system);
        socket.attach((event: SocketEvent) => sendBack(event));
        return () => socket.close();
      }),
    },
    actions: {
      dial: ({ system }) => runtimeOf(system).socket.open(),
      hangUp: ({ system }) => runtimeOf(system).socket.close(),
      startHeartbeat: ({ system }, cadence) => runtimeOf(system).socket.startHeartbeat(cadence),
      stopHeartbeat: ({ system }) => runtimeOf(system).socket.stopHeartbeat(),
      // After the next poll phase, and against the socket's own clock of progress: an attempt whose
      // dial left late (the WebSocket implementation loaded first) or that heard something meanwhile
      // is still moving, and its phase waits again.
      judgeAttempt: ({ self, system, context }) =>
        afterPollPhase(() => {
          const moving = runtimeOf(system).socket.quietForMs() < attemptTimeoutMs(context.timing);
          self.send({ type: moving ? 'PROGRESS' : 'STALLED' });
        }),
      sendHello: ({ system }, hello) => runtimeOf(system).socket.sendHello(hello),
      sendLogout: ({ system }) => runtimeOf(system).socket.sendLogout(),
      sayFarewell: ({ system }, hello) => void runtimeOf(system).socket.farewell(hello),
      applyGrant: ({ system, event }, how) => {
        if (event.type === 'GRANTED') runtimeOf(system).granted(event.grant, how);
      },
    },
    delays: {
      backoff: ({ context }) => redialDelayMs(context.timing, context.failures - 1, context.reconnecting, random()),
      // What is left until the attempt has been quiet for a whole timeout: a phase that waits
      // again after progress waits for the rest, not a full timeout from the judgement (a dial
      // that left a few ms after the phase began would otherwise double the wait for a black hole).
      attemptTimeout: ({ context, system }) =>
        Math.max(1, attemptTimeoutMs(context.timing) - runtimeOf(system).socket.quietForMs()),
    },
  });
}
