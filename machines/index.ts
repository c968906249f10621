export { connectionMachine } from './connection.machine.js';
export type {
  AppEvent,
  ConnectionContext,
  ConnectionEmitted,
  ConnectionEvent,
  ConnectionInput,
  ConnectionMachine,
  LinkCommand,
  LinkEvent,
  LinkInput,
} from './connection.machine.js';
export { attemptTimeoutMs, linkMachine, redialCeilingMs, redialDelayMs } from './link.machine.js';
export type {
  HeartbeatCadence,
  Hello,
  LinkContext,
  LinkGrant,
  LinkMachine,
  LinkMachineEvent,
  LinkMachineInput,
  SocketEvent,
} from './link.machine.js';
export { sessionMachine } from './session.machine.js';
export type {
  SessionContext,
  SessionEmitted,
  SessionEndReason,
  SessionEvent,
  SessionInput,
  SessionMachine,
  SessionOutput,
} from './session.machine.js';
export { ConnectionChangeReason, ConnectionState } from './reasons.js';
export type { KickReason } from './reasons.js';
export { machineDefinition } from './definition.js';
export type { DefinitionOptions, MachineDefinition } from './definition.js';
export { defaultTiming, resolveTiming, scaleTiming } from './timing.js';
export type { Timing } from './timing.js';
