/** Shapes the application sees (API.md). */
export interface RtmMessage {
  text: string;
}

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
