/**
 * The `link` child of the connection machine: a callback actor around a `Link`. The machine
 * spawns it on LOGIN and stops it on DISCONNECTED / ABORTED; stopping it logs out (if logged
 * in), closes the socket and ends every timer.
 */
import { fromCallback } from 'xstate';
import type { LinkCommand, LinkEvent, LinkInput } from '../../machines/connection.machine.js';

export interface LinkHandle {
  start(): void;
  renewToken(token: string): void;
  stop(): void;
}

export function linkActor(createLink: (input: LinkInput, report: (event: LinkEvent) => void) => LinkHandle) {
  return fromCallback<LinkCommand, LinkInput>(({ input, sendBack, receive }) => {
    const link = createLink(input, sendBack);
    receive((command) => {
      if (command.type === 'RENEW_TOKEN') link.renewToken(command.token);
    });
    link.start();
    return () => link.stop();
  });
}
