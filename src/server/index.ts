/** `rtm-statechart/server`: the RTM server, its options and the store interface. */
export { createRtmServer } from './rtm-server.js';
export type { RtmServer } from './rtm-server.js';
export { CLUSTER_FLUSH_DELAY_MS, DEFAULT_LISTEN_BACKLOG, defaultLimits, heartbeatFor } from './options.js';
export type { HeartbeatOptions, RedisOption, RtmServerLimits, RtmServerOptions } from './options.js';
export { jsonLineLogger, silentLogger } from './logger.js';
export type { LogLevel, RtmLogger } from './logger.js';
export { MemoryStore } from './store/memory-store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export type {
  ChannelHistoryQuery,
  EndedSession,
  InboxAppendResult,
  InboxBounds,
  InboxRefusal,
  RtmStore,
  SendOutcome,
  SessionRecord,
  StoredChannelMessage,
  StoredPeerMessage,
} from './store/store.js';
export { createToken, verifyToken } from './token.js';
export type { TokenCheck, TokenOptions } from './token.js';
