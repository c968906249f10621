/** The connection states of SPEC §3 (the values of Agora RTM's Web SDK). */
export const ConnectionState = {
  DISCONNECTED: 'DISCONNECTED',
  CONNECTING: 'CONNECTING',
  CONNECTED: 'CONNECTED',
  RECONNECTING: 'RECONNECTING',
  ABORTED: 'ABORTED',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Why the connection state changed (SPEC §3). */
export const ConnectionChangeReason = {
  LOGIN: 'LOGIN',
  LOGIN_SUCCESS: 'LOGIN_SUCCESS',
  LOGIN_FAILURE: 'LOGIN_FAILURE',
  LOGIN_TIMEOUT: 'LOGIN_TIMEOUT',
  INTERRUPTED: 'INTERRUPTED',
  LOGOUT: 'LOGOUT',
  BANNED_BY_SERVER: 'BANNED_BY_SERVER',
  REMOTE_LOGIN: 'REMOTE_LOGIN',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
} as const;
export type ConnectionChangeReason = (typeof ConnectionChangeReason)[keyof typeof ConnectionChangeReason];

/** The two reasons the server can abort a connection for (R6). */
export type KickReason = typeof ConnectionChangeReason.REMOTE_LOGIN | typeof ConnectionChangeReason.BANNED_BY_SERVER;
