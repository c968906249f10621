/** Shapes the application sees (API.md). */

/** A text message (at most 32 KiB in UTF-8). */
export interface RtmTextMessage {
  text: string;
  messageType?: 'TEXT';
  rawMessage?: undefined;
  description?: undefined;
}

/**
 * A raw (binary) message, as in Agora RTM 1.x (issue 14.2): its bytes and an optional
 * description, at most 32 KiB together. `text`, if given, must be empty.
 */
export interface RtmRawMessage {
  rawMessage: Uint8Array;
  description?: string;
  messageType?: 'RAW';
  text?: string;
}

/** What `sendMessageToPeer` and `channel.sendMessage` take. */
export type RtmMessage = RtmTextMessage | RtmRawMessage;

/** A received text message: `messageType` is always set. */
export interface ReceivedTextMessage extends RtmTextMessage {
  messageType: 'TEXT';
}

/** A received raw message: its bytes, its description ('' when none) and an empty `text`. */
export interface ReceivedRawMessage extends RtmRawMessage {
  messageType: 'RAW';
  description: string;
  text: string;
}

/** What `MessageFromPeer` and `ChannelMessage` listeners get; `text` is a string either way. */
export type ReceivedMessage = ReceivedTextMessage | ReceivedRawMessage;

export interface MessageProps {
  /** When the server received the message (ms since the epoch), also for replayed messages. */
  serverReceivedTs: number;
  /** A peer message delivered by a replay (it was sent while this client was away). */
  isOfflineMessage: boolean;
  /** A channel message delivered by a replay (R5.3). */
  isHistoricalMessage: boolean;
}

export interface SendMessageOptions {
  /** Store the message for a recipient that is logged out or has never logged in (R5.1). */
  enableOfflineMessaging?: boolean;
}

export interface PeerMessageDropped {
  peerId: string;
  messageId: string;
  reason: 'INBOX_FULL' | 'EXPIRED';
}
