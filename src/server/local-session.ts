/**
 * A session as this node holds it: the presence actor (sessionMachine) with its timer, the
 * socket currently attached, the channels it is in (a local mirror of the store, for fan-out)
 * and the user's request budgets. The shared part of a session (its record) lives in the store.
 *
 * Every session actor of a node is a child of one host actor (`SessionHost`), so they
 * share one actor system (scheduler, registry, inspection) instead of each building its own:
 * that is about 1.8 KB less heap per logged-in user.
 */
import { createActor, createMachine, type ActorRefFrom, type AnyActorRef, type InspectionEvent } from 'xstate';
import { sessionMachine, type SessionEndReason, type SessionOutput } from '../../machines/session.machine.js';
import type { Timing } from '../../machines/timing.js';
import type { Connection } from './connection.js';
import { RateLimitRegistry, type RequestRates, type UserRateLimits } from './rate-limit.js';

const HOST_ID = 'sessions';

/**
 * The parent of every session actor of this node, whose actor system they all join. When a
 * session actor reaches its final state, its output (uid, sessionId, reason) comes here as the
 * done event and goes to `onEnded`; an error thrown inside one goes to `onError`. Its clock
 * keeps track of the presence timers, so that `stop()` at shutdown leaves none running.
 *
 * The host also owns the request budgets of the node's users, by uid (not by session): a
 * session gets its user's budget, so logging in again does not refill it (issue 11.8).
 */
export class SessionHost {
  readonly actor: AnyActorRef;
  readonly rateLimits: RateLimitRegistry;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(options: {
    inspect: ((event: InspectionEvent) => void) | undefined;
    onEnded: (output: SessionOutput) => void;
    onError: (error: unknown) => void;
    /** Requests per second per user and kind; 0 = unlimited (the default). */
    rates?: RequestRates;
  }) {
    const { inspect, onEnded, onError } = options;
    this.rateLimits = new RateLimitRegistry(options.rates ?? { send: 0, membership: 0, query: 0 });
    const clock = {
      setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          fn();
        }, ms);
        this.timers.add(timer);
        return timer;
      },
      clearTimeout: (timer: ReturnType<typeof setTimeout>) => {
        this.timers.delete(timer);
        clearTimeout(timer);
      },
    };
    this.actor = createActor(
      createMachine({
        id: HOST_ID,
        description: 'Holds the session actors of one server node.',
        on: {
          '*': {
            actions: ({ event }) => {
              if (event.type.startsWith('xstate.done.actor.')) onEnded((event as unknown as { output: SessionOutput }).output);
              else if (event.type.startsWith('xstate.error.actor.')) onError((event as { error?: unknown }).error);
            },
          },
        },
      }),
      // The host itself is plumbing, not a session: the inspector is shown its children only.
      { id: HOST_ID, clock, ...(inspect ? { inspect: (event: InspectionEvent) => void ((event.actorRef as AnyActorRef).id !== HOST_ID && inspect(event)) } : {}) },
    );
    this.actor.start();
  }

  /** Server shutdown: every presence timer is cleared; the sessions stay as they are in the store. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.actor.stop();
  }
}

export class LocalSession {
  readonly actor: ActorRefFrom<typeof sessionMachine>;
  connection: Connection | null = null;
  /** The channels this session is in; created on the first join. */
  private joined: Set<string> | null = null;
  /** The user's request budgets, shared with every later session of the same uid on this node. */
  readonly limits: UserRateLimits;
  /** The session's generation in the store: every end this node writes names it (fencing). */
  generation = 0;
  /**
   * Set when another node ended the session (`'kick'`: a login there, a ban) or took it over
   * (`'claim'`: a resume there), or this node lost the shared store (`'fence'`): this node lets
   * it go without writing to the store.
   */
  fencedBy: 'kick' | 'claim' | 'fence' | null = null;
  /** Set once the session has ended (by the host, from the actor's output); later events are ignored. */
  endReason: SessionEndReason | null = null;
  /** The end being carried out (SessionService.finishOnce), once it has started. */
  finishing: Promise<void> | null = null;
  /** Made on first use; resolved (or made resolved) by markFinished. */
  private finishedPromise: Promise<void> | null = null;
  private resolveFinished: (() => void) | null = null;

  constructor(
    readonly uid: string,
    readonly sessionId: string,
    options: { host: SessionHost; timing: Timing },
  ) {
    this.limits = options.host.rateLimits.of(uid);
    this.actor = createActor(sessionMachine, {
      id: `session:${uid}`,
      parent: options.host.actor,
      input: { uid, sessionId, timing: options.timing },
    }).start();
  }

  get ended(): boolean {
    return this.endReason !== null;
  }

  /** The channels this session is in. */
  get channels(): ReadonlySet<string> {
    return this.joined ?? EMPTY;
  }

  joinedChannel(channel: string): void {
    (this.joined ??= new Set()).add(channel);
  }

  leftChannel(channel: string): void {
    this.joined?.delete(channel);
  }

  /** Settles when the end has been carried out (channels left, store updated). */
  get finished(): Promise<void> {
    return (this.finishedPromise ??= new Promise((resolve) => {
      this.resolveFinished = resolve;
    }));
  }

  markFinished(): void {
    if (this.resolveFinished) this.resolveFinished();
    else this.finishedPromise = Promise.resolve();
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
}

const EMPTY: ReadonlySet<string> = new Set();
