/**
 * rtm-statechart: the client SDK (browser and Node). See docs/client.md.
 * Nothing imported from here loads a Node module at the top level.
 */
export { RtmClient, RtmChannel, WS_CLIENT_OPTIONS } from './client/index.js';
export type {
  ChannelRecoveryReport,
  ConnectionActor,
  MessageProps,
  PeerMessageDropped,
  RecoveryLoss,
  RecoveryReport,
  RtmChannelEvents,
  RtmClientEvents,
  RtmClientOptions,
  RtmMessage,
  SendMessageOptions,
  StreamRecovery,
  WebSocketConstructor,
  WebSocketLike,
} from './client/index.js';
export { RtmError, RtmErrorCode, isRtmError } from './errors.js';
export { ConnectionChangeReason, ConnectionState } from '../machines/reasons.js';
export type { KickReason } from '../machines/reasons.js';
export { defaultTiming, resolveTiming, scaleTiming } from '../machines/timing.js';
export type { Timing } from '../machines/timing.js';
export { connectionMachine } from '../machines/connection.machine.js';
