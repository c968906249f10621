/**
 * The status enums of Agora RTM 1.x, under the names its apps use (`RtmStatusCode.PeerOnlineState`,
 * `AgoraRTM.MessageType.RAW`, …), issue 14.2. Each is a frozen object of string values and a type
 * of the same name, as the connection states are.
 */
export { ConnectionChangeReason, ConnectionState } from '../machines/reasons.js';

/** subscribePeersOnlineStatus: connected; away within the presence window (R4.1); logged out or gone. */
export const PeerOnlineState = Object.freeze({
  ONLINE: 'ONLINE',
  UNREACHABLE: 'UNREACHABLE',
  OFFLINE: 'OFFLINE',
} as const);
export type PeerOnlineState = (typeof PeerOnlineState)[keyof typeof PeerOnlineState];

/** What queryPeersBySubscriptionOption asks about. */
export const PeerSubscriptionOption = Object.freeze({ ONLINE_STATUS: 'ONLINE_STATUS' } as const);
export type PeerSubscriptionOption = (typeof PeerSubscriptionOption)[keyof typeof PeerSubscriptionOption];

/** `RtmMessage.messageType`. */
export const MessageType = Object.freeze({ TEXT: 'TEXT', RAW: 'RAW' } as const);
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
