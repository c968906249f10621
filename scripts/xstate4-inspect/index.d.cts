/** The part of XState 4 and of @xstate/inspect's server that the v4 bridge tests use. */

export interface V4Service {
  readonly sessionId: string;
  readonly state: { value: unknown; context: unknown };
  start(): V4Service;
  send(event: string | { type: string; [key: string]: unknown }): unknown;
  stop(): V4Service;
}

/** XState 4's createMachine: the config and its implementations (`delays`, `guards`, `actions`). */
export function createMachine(config: Record<string, unknown>, implementations?: Record<string, unknown>): unknown;
/** XState 4's interpret; `{ devTools: true }` registers the service with @xstate/inspect. */
export function interpret(machine: unknown, options?: { devTools?: boolean }): V4Service;
/** `inspect` from `@xstate/inspect/lib/server`: makes `server` the app's inspection server. */
/** `server` is a `ws` WebSocketServer (any object with its `clients` and `on`). */
export function inspectServer(options: { server: { clients: Set<unknown>; on(event: string, listener: (...args: any[]) => void): unknown } }): { disconnect(): void };
export const xstateVersion: string;
