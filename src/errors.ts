/**
 * Every failure the SDK or the server reports carries one of these codes (SPEC R1, R5, R8).
 * The values are stable strings: apps switch on them, and they cross the wire unchanged.
 */
export const RtmErrorCode = {
  /** login(): the token's signature or contents are wrong. */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /** login() or a resume: the token has expired. */
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** A uid, channel id, attribute or option is malformed. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The server refused the login (banned uid, …). */
  REJECTED: 'REJECTED',
  /** login() while already logging in, logged in, reconnecting or aborted (R1.4). */
  ALREADY_LOGIN: 'ALREADY_LOGIN',
  /** No answer in time: login (R2.3) or a request (R5.5). */
  TIMEOUT: 'TIMEOUT',
  /** The call needs a login first. */
  NOT_LOGGED_IN: 'NOT_LOGGED_IN',
  ALREADY_JOINED: 'ALREADY_JOINED',
  NOT_JOINED: 'NOT_JOINED',
  /** Message text is not a string or is larger than 32 KiB. */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** Over the per-user send rate. */
  TOO_OFTEN: 'TOO_OFTEN',
  /**
   * A limit on how much a user may hold was reached: channel.join beyond `maxChannelsPerUser`
   * (Agora's JOIN_CHANNEL_ERR_EXCEED_LIMIT).
   */
  EXCEED_LIMIT: 'EXCEED_LIMIT',
  /** A peer message could not be stored: the recipient's inbox is full or the message aged out. */
  MESSAGE_DROPPED: 'MESSAGE_DROPPED',
  /** A resume named a session the server no longer has; the client logs in afresh. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** The request was cut short by logout() or by the connection being aborted. */
  LOGGED_OUT: 'LOGGED_OUT',
  /** A frame broke the protocol; the server closes that socket. */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** Anything else: a bug, reported instead of swallowed. */
  INTERNAL: 'INTERNAL',
} as const;
export type RtmErrorCode = (typeof RtmErrorCode)[keyof typeof RtmErrorCode];

export class RtmError extends Error {
  override readonly name = 'RtmError';
  constructor(
    readonly code: RtmErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isRtmError(value: unknown): value is RtmError {
  return value instanceof RtmError;
}

/** Agora RTM 1.x's status enums (ConnectionState, PeerOnlineState, MessageType, …), issue 14.2. */
export * as RtmStatusCode from './status-codes.js';
