/**
 * rtm-statechart: the client SDK (browser and Node). See docs/client.md.
 * Nothing imported from here loads a Node module at the top level.
 */
export { RtmClient, RtmChannel, WS_CLIENT_OPTIONS } from './client/index.js';
/** Agora RTM 1.x compatibility (issue 14.2): `import AgoraRTM from 'rtm-statechart'`. */
export { AgoraRTM as default, createInstance } from './client/index.js';
export type * as RtmEvents from './client/rtm-events.js';
export { MessageType, PeerOnlineState, PeerSubscriptionOption } from './status-codes.js';
export type {
  AgoraInstanceOptions,
  AttributesMap,
  ChannelAttributeOptions,
  ChannelAttributeProperties,
  ChannelAttributes,
  LogFilterType,
  PeersOnlineStatusMap,
  ReceivedMessage,
  ReceivedRawMessage,
  ReceivedTextMessage,
  RtmConfig,
  RtmRawMessage,
  RtmTextMessage,
} from './client/index.js';
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
export { RtmError, RtmErrorCode, RtmStatusCode, isRtmError } from './errors.js';
export { ConnectionChangeReason, ConnectionState } from '../machines/reasons.js';
export type { KickReason } from '../machines/reasons.js';
export { defaultTiming, resolveTiming, scaleTiming } from '../machines/timing.js';
export type { Timing } from '../machines/timing.js';
export { connectionMachine } from '../machines/connection.machine.js';
