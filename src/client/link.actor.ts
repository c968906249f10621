/**
 * The `link` child of the connection machine: a callback actor around a `Link`. The machine
 * spawns it on LOGIN and stops it on DISCONNECTED / ABORTED; stopping it logs out (if logged
 * in), closes the socket and ends every timer.
 */
import { fromCallback, type ActorSystem } from 'xstate';
import type { LinkCommand, LinkEvent, LinkInput } from '../../machines/connection.machine.js';

/** The actor system of one connection machine (one per RtmClient). */
export type AnyActorSystem = ActorSystem<any>;

export interface LinkHandle {
  start(): void;
  renewToken(token: string): void;
  stop(): void;
}

/** `system` is the actor system of the connection machine the link belongs to. */
export function linkActor(
  createLink: (input: LinkInput, report: (event: LinkEvent) => void, system: AnyActorSystem) => LinkHandle,
) {
  return fromCallback<LinkCommand, LinkInput>(({ input, sendBack, receive, system }) => {
    const link = createLink(input, sendBack, system);
    receive((command) => {
      if (command.type === 'RENEW_TOKEN') link.renewToken(command.token);
    });
    link.start();
    return () => link.stop();
  });
}
