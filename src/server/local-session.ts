/**
 * A session as this node holds it: the presence actor (sessionMachine) with its timer, the
 * socket currently attached, the channels it is in (a local mirror of the store, for fan-out)
 * and the user's send rate. The shared part of a session (its record) lives in the store.
 */
import { createActor, type ActorRefFrom, type InspectionEvent } from 'xstate';
import { sessionMachine, type SessionEndReason } from '../../machines/session.machine.js';
import type { Timing } from '../../machines/timing.js';
import type { Connection } from './connection.js';
import { RateLimiter } from './rate-limit.js';

export class LocalSession {
  readonly actor: ActorRefFrom<typeof sessionMachine>;
  connection: Connection | null = null;
  readonly channels = new Set<string>();
  readonly rate: RateLimiter;
  /** Set once the session has ended; later events are ignored. */
  endReason: SessionEndReason | null = null;
  /** Settles when the end has been carried out (channels left, store updated). */
  readonly finished: Promise<void>;
  markFinished!: () => void;

  constructor(
    readonly uid: string,
    readonly sessionId: string,
    options: {
      timing: Timing;
      rateLimitPerSecond: number;
      inspect: ((event: InspectionEvent) => void) | undefined;
      onEnded: (session: LocalSession, reason: SessionEndReason) => void;
    },
  ) {
    this.rate = new RateLimiter(options.rateLimitPerSecond);
    this.finished = new Promise((resolve) => {
      this.markFinished = resolve;
    });
    this.actor = createActor(sessionMachine, {
      id: `session:${uid}`,
      input: { uid, sessionId, timing: options.timing },
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    this.actor.on('SessionEnded', ({ reason }) => {
      if (this.endReason) return;
      this.endReason = reason;
      options.onEnded(this, reason);
    });
    this.actor.start();
  }

  get ended(): boolean {
    return this.endReason !== null;
  }

  linkLost(): void {
    if (!this.ended) this.actor.send({ type: 'LINK_LOST' });
  }

  resumed(): void {
    if (!this.ended) this.actor.send({ type: 'RESUMED' });
  }

  /** Ends the session now (logout, login elsewhere, ban) and waits until that is carried out. */
  end(reason: Exclude<SessionEndReason, 'PRESENCE_EXPIRED'>): Promise<void> {
    if (!this.ended) {
      const type = reason === 'LOGOUT' ? 'LOGOUT' : reason === 'REMOTE_LOGIN' ? 'REMOTE_LOGIN' : 'BANNED';
      this.actor.send({ type });
    }
    return this.finished;
  }

  /** Stops the actor without ending the session (server shutdown). */
  stop(): void {
    this.actor.stop();
  }
}
