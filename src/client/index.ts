export { RtmClient } from './client.js';
export type { ConnectionActor, RtmClientEvents, RtmClientOptions } from './client.js';
export { RtmChannel } from './channel.js';
export type { RtmChannelEvents } from './channel.js';
export type { MessageProps, PeerMessageDropped, RtmMessage, SendMessageOptions } from './types.js';
export { WS_CLIENT_OPTIONS } from './socket.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { redialPolicy } from './backoff.js';
export type { RedialPolicy } from './backoff.js';
