export { RtmClient } from './client.js';
export type { ConnectionActor, RtmClientEvents, RtmClientOptions } from './client.js';
export { RtmChannel } from './channel.js';
export type { RtmChannelEvents } from './channel.js';
export type {
  MessageProps,
  PeerMessageDropped,
  ReceivedMessage,
  ReceivedRawMessage,
  ReceivedTextMessage,
  RtmMessage,
  RtmRawMessage,
  RtmTextMessage,
  SendMessageOptions,
} from './types.js';
export { default as AgoraRTM, createInstance } from './agora.js';
export type { AgoraInstanceOptions, LogFilterType, RtmConfig } from './agora.js';
export type { AttributesMap, ChannelAttributeOptions, ChannelAttributeProperties, ChannelAttributes } from './attributes.js';
export type { PeersOnlineStatusMap } from './presence-watch.js';
export type { ChannelRecoveryReport, RecoveryLoss, RecoveryReport, StreamRecovery } from './recovery.js';
export { WS_CLIENT_OPTIONS } from './socket.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { redialPolicy } from './backoff.js';
export type { RedialPolicy } from './backoff.js';
