/**
 * What a producer must send again when it reconnects to a relay that may have restarted
 * (issue 15.4): every live actor's registration, with its definition and latest snapshot. A
 * relay that restarted knows none of them, and without this a page shows "no statechart
 * definition" for every actor that was created before the restart. Bounded by count; actors
 * that stopped are forgotten. No Node APIs here (the page's producer uses it too).
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ActorMessage, InspectionMessage } from './messages.js';

const DEFAULT_LIMIT = 2_000;

export class Registrations {
  private readonly actors = new Map<string, ActorMessage>();

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  /** Follows a message on its way out. */
  note(message: InspectionMessage): void {
    if (message.type === '@xstate.actor') {
      this.actors.delete(message.sessionId);
      this.actors.set(message.sessionId, { ...message });
      if (this.actors.size > this.limit) {
        const [oldest] = this.actors.keys();
        if (oldest !== undefined) this.actors.delete(oldest);
      }
      return;
    }
    if (message.type !== '@xstate.snapshot') return;
    const registration = this.actors.get(message.sessionId);
    if (!registration) return;
    const status = (message.snapshot as { status?: unknown } | null)?.status;
    if (status === 'stopped' || status === 'done' || status === 'error') {
      this.actors.delete(message.sessionId);
      return;
    }
    registration.snapshot = message.snapshot;
    if (message._delays) registration._delays = message._delays;
  }

  /** The registrations to send first on a new connection, each with its latest snapshot. */
  current(now = Date.now()): ActorMessage[] {
    return [...this.actors.values()].map((r) => ({ ...r, createdAt: String(now) }));
  }

  get size(): number {
    return this.actors.size;
  }
}

/**
 * This process's running actors by session id, and the delivery of an event the relay passes
 * back (`{t:'send', sessionId, event}`). Shared with the page's producer, so no Node APIs.
 */
export class RunningActors {
  private readonly actors = new Map<string, AnyActorRef>();

  constructor(private readonly limit = 5_000) {}

  follow(event: InspectionEvent): void {
    const actor = event.actorRef as AnyActorRef;
    if (event.type === '@xstate.actor') {
      this.actors.set(actor.sessionId, actor);
      if (this.actors.size > this.limit) this.actors.delete(this.actors.keys().next().value!);
    } else if (event.type === '@xstate.snapshot' && (event.snapshot as { status?: string }).status !== 'active') {
      this.actors.delete(actor.sessionId);
    }
  }

  /** Delivers one command frame; anything else is ignored (it is from our relay, but bounded anyway). */
  deliver(text: string): boolean {
    let command: unknown;
    try {
      command = JSON.parse(text);
    } catch {
      return false;
    }
    const c = command as { t?: unknown; sessionId?: unknown; event?: { type?: unknown } };
    if (c?.t !== 'send' || typeof c.sessionId !== 'string' || typeof c.event?.type !== 'string') return false;
    const actor = this.actors.get(c.sessionId);
    if (!actor) return false;
    try {
      actor.send(c.event as { type: string });
    } catch {
      return false; // An actor that throws on an event is the app's to fix; the reporter goes on.
    }
    return true;
  }
}
