/**
 * Runs connectionMachine alone on XState's SimulatedClock, with a recording link actor in
 * place of the link machine, so each rule can be checked to the millisecond without waiting.
 */
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import {
  connectionMachine,
  type ConnectionEmitted,
  type LinkCommand,
  type LinkInput,
  type Timing,
} from '../../machines/index.js';

export interface LinkRecord {
  /** One entry per OPEN: the login the link was opened for. */
  started: Array<{ uid: string; token: string; timing: Timing }>;
  /** CLOSE commands. */
  stopped: number;
  /** RENEW_TOKEN commands. */
  commands: Array<Extract<LinkCommand, { type: 'RENEW_TOKEN' }>>;
  /** CONNECTION_PHASE commands. */
  phases: boolean[];
}

/**
 * SimulatedClock.increment(ms) moves time once and then fires what is due, so a timer started
 * by another timer inside the same increment starts late. `advance` steps from one due timer to
 * the next, so chained delays (grace, then presence) land on the exact millisecond.
 */
export class SteppingClock extends SimulatedClock {
  advance(ms: number): void {
    const end = this.now() + ms;
    for (;;) {
      const pending = [...(this as unknown as { timeouts: Map<number, { start: number; timeout: number }> }).timeouts.values()];
      const next = Math.min(...pending.map((t) => t.start + t.timeout));
      if (!(next <= end)) break;
      this.set(Math.max(next, this.now()));
    }
    this.set(end);
  }
}

export function runConnection(timing?: Partial<Timing>) {
  const clock = new SteppingClock();
  const link: LinkRecord = { started: [], stopped: 0, commands: [], phases: [] };
  let restoreSessionCalls = 0;
  /** The chart's outbox actions, in order: `open`, `hold <closeCode>`. */
  const outbox: string[] = [];
  const machine = connectionMachine.provide({
    actors: {
      link: fromCallback<LinkCommand, LinkInput>(({ receive }) => {
        receive((command) => {
          if (command.type === 'OPEN') link.started.push({ uid: command.uid, token: command.token, timing: command.timing });
          else if (command.type === 'CLOSE') link.stopped += 1;
          else if (command.type === 'RENEW_TOKEN') link.commands.push(command);
          else link.phases.push(command.reconnecting);
        });
      }),
    },
    actions: {
      restoreSession: () => {
        restoreSessionCalls += 1;
      },
      openOutbox: () => void outbox.push('open'),
      holdOutbox: ({ event }) => void outbox.push(`hold ${event.type === 'LINK_DOWN' ? event.closeCode : '?'}`),
    },
  });
  const actor = createActor(machine, { clock, input: timing ? { timing } : {} });
  const emitted: ConnectionEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  return {
    actor,
    clock,
    link,
    emitted,
    outbox,
    get restoreSessionCalls() {
      return restoreSessionCalls;
    },
    /** The (state, reason) pairs announced so far, as `STATE/REASON` strings. */
    changes: () =>
      emitted.flatMap((e) => (e.type === 'ConnectionStateChanged' ? [`${e.state}/${e.reason}`] : [])),
    value: () => actor.getSnapshot().value,
    login: () => actor.send({ type: 'LOGIN', uid: 'alice', token: 'token-1' }),
    /** Logs in and lets the link report success: CONNECTED. */
    connect() {
      this.login();
      actor.send({ type: 'LINK_UP', sessionExpired: false });
    },
    /** From CONNECTED, loses the link and lets the grace period run out: RECONNECTING. */
    interrupt() {
      actor.send({ type: 'LINK_DOWN' });
      clock.advance(actor.getSnapshot().context.timing.interruptionGraceMs);
    },
  };
}
