/**
 * Options of `createRtmServer` and the values the server derives from them. API.md names the
 * first five; everything below them is an addition (tuning, limits, injection for tests).
 */
import { randomBytes } from 'node:crypto';
import { resolveTiming, type Timing } from '../../machines/timing.js';
import { MAX_FRAME_BYTES } from '../protocol/index.js';
import type { RtmLogger } from './logger.js';
import type { RtmStore } from './store/store.js';

export interface RtmServerLimits {
  /** Sends (peer.send + channel.send) a user may make per second; more get TOO_OFTEN. Default 60. */
  rateLimitPerSecond: number;
  /** Stored, unacknowledged peer messages per recipient; a send beyond gets MESSAGE_DROPPED. Default 1000. */
  inboxMaxMessages: number;
  /** A stored peer message older than this is dropped and its sender told (peer.dropped EXPIRED). Default 24 h. */
  inboxMaxAgeMs: number;
  /** Channel messages kept per channel for replay (besides the replay window). Default 256. */
  channelHistoryMax: number;
  /** Open sockets the server accepts; more are refused with HTTP 503. Default 100 000. */
  maxConnections: number;
  /** Largest WebSocket message (several frames may be coalesced into one). Default 4 × MAX_FRAME_BYTES. */
  maxPayloadBytes: number;
  /** How long a (sender, msgId) pair is remembered to de-duplicate retried sends (R5.5). Default 2 min. */
  dedupWindowMs: number;
  /**
   * A channel with more members than this announces no joins or leaves (no MemberJoined /
   * MemberLeft), as Agora RTM does above 512: announcing every join to every member costs
   * N²/2 frames to fill a channel of N. `channel.members` still lists everyone. Default 512.
   */
  memberEventsMaxMembers: number;
  /**
   * A channel's member count is announced (MemberCountUpdated) at most this often, and a third as
   * often above `memberEventsMaxMembers` members, as Agora RTM does (1 s / 3 s). Default 1000 (14.2).
   */
  memberCountIntervalMs: number;
  /** How long before its token expires a connected session is told (TokenPrivilegeWillExpire). Default 30 s (14.2). */
  tokenWillExpireNoticeMs: number;
  /**
   * channel.join and channel.leave a user may make per second (token bucket, bursts up to this
   * many); more get TOO_OFTEN. Keep it at least `maxChannelsPerUser`: after the 30 s rule the
   * client rejoins every channel at once (R4.4). Default 50.
   */
  membershipRateLimitPerSecond: number;
  /**
   * Every other request of a session (channel.members, presence.query, user and channel
   * attributes, channel.counts, presence.subscribe / unsubscribe, token.renew) per user per
   * second; more get TOO_OFTEN. Default 50.
   */
  queryRateLimitPerSecond: number;
  /** Channels one user may be in at once; one more join gets EXCEED_LIMIT (Agora's JOIN_CHANNEL_ERR_EXCEED_LIMIT). Default 50. */
  maxChannelsPerUser: number;
  /** Bytes of stored peer messages per recipient (text as UTF-8 plus 128 per message). Default 8 MiB. */
  inboxMaxBytes: number;
  /**
   * Messages one sender may hold in one recipient's inbox. Below `inboxMaxMessages`, so that the
   * rest (250 by default) always stays open to other senders: one sender cannot fill it for
   * everyone, yet a busy one-to-one conversation with an away user keeps most of it. Default 750.
   */
  inboxMaxMessagesPerSender: number;
  /** Bytes one sender may hold in one recipient's inbox (the rest of `inboxMaxBytes` stays open to others). Default 6 MiB. */
  inboxMaxBytesPerSender: number;
  /**
   * Bytes one sender may hold, over every inbox, in offline messages (`enableOfflineMessaging`)
   * to users who are not logged in: such a recipient may never come. Default 4 MiB.
   */
  offlineMaxBytesPerSender: number;
  /** A socket not logged in this long after it opened is closed with 4006. Default 10 s. */
  loginDeadlineMs: number;
  /**
   * A TCP connection that has not finished its HTTP request (the WebSocket handshake) this long
   * after it was accepted is dropped. Such connections count against `maxConnections`. Default 5 s.
   */
  handshakeTimeoutMs: number;
  /** Unsent bytes one socket may hold before it is closed with 4005 (slow consumer). Default 16 MiB. */
  maxBufferedBytesPerSocket: number;
  /**
   * Unsent bytes all sockets together may hold; beyond it the sockets holding the most are
   * closed with 4005 until the total is under it again. Default 256 MiB.
   */
  maxBufferedBytes: number;
}

export interface HeartbeatOptions {
  /** How often the client pings. */
  intervalMs: number;
  /** A socket silent this long is closed by the server and treated as lost by the client. */
  timeoutMs: number;
}

export interface RtmServerOptions {
  /** 0 = any free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Signs login tokens (HS256); generated when absent. */
  secret?: string;
  timing?: Partial<Timing>;
  /** Serve the inspector page and relay on the same port (default true). */
  inspector?: boolean;
  /**
   * Accept `login({ uid })` without a token (as an Agora project without an App Certificate
   * does). Default false: every login needs a token signed with `secret` (14.2).
   */
  allowAnonymousLogin?: boolean;
  /** Required when the inspector is on and `host` is not loopback (R9). */
  inspectorAccessToken?: string;
  /**
   * The inspector's demo endpoints (demo tokens and bans for `demo-` uids, the page's "create
   * client" panel). Default false; `serve --demo` turns them on (issue 12.4).
   */
  inspectorDemo?: boolean;
  /** Origins besides the page's own whose pages may use the inspector (issue 12.2). */
  inspectorAllowedOrigins?: readonly string[];
  /** Host names besides IP literals and localhost the inspector answers to (DNS rebinding). */
  inspectorAllowedHosts?: readonly string[];
  limits?: Partial<RtmServerLimits>;
  heartbeat?: Partial<HeartbeatOptions>;
  /** Where state shared between nodes lives; an in-memory store when absent. */
  store?: RtmStore;
  /**
   * Keep that state in Redis instead (issue 13): a URL, or the URL with a key prefix (default
   * `rtm:`). Every node given the same Redis and prefix shares sessions, inboxes, channel
   * history and the epoch. The Redis client is loaded only when this is set. Not with `store`.
   */
  redis?: string | RedisOption;
  /** Structured log sink; silent when absent. */
  logger?: RtmLogger;
  /**
   * How long outgoing frames wait to be coalesced per socket. 0 (the default of a single server):
   * until the end of the current event-loop turn, which adds no latency. A few ms trade that much
   * latency for fewer writes per delivery when many low-rate channels fan out to the same sockets.
   * A node of a cluster (`redis`) defaults to `CLUSTER_FLUSH_DELAY_MS` (5 ms): each node writes
   * only its share of a channel's members, so its sweeps are short and, under the same traffic,
   * coalesce fewer frames into each write than one server holding every member does.
   */
  flushDelayMs?: number;
  /**
   * Connections the kernel may queue before the server accepts them (capped by the kernel's
   * net.core.somaxconn). Default 4096, where Node's own default is 511: in a reconnect storm
   * thousands of clients dial at once, and a connection the full queue drops is retried by
   * TCP only after a second.
   */
  listenBacklog?: number;
}

export interface RedisOption {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** Put before every key; several deployments can share one Redis under different prefixes. */
  keyPrefix?: string;
  /** This node's id in the cluster (letters, digits, `-`, `_`; at most 64); default a random one per start. */
  nodeId?: string;
}

export const defaultLimits: Readonly<RtmServerLimits> = Object.freeze({
  rateLimitPerSecond: 60,
  inboxMaxMessages: 1000,
  inboxMaxAgeMs: 24 * 60 * 60 * 1000,
  channelHistoryMax: 256,
  maxConnections: 100_000,
  maxPayloadBytes: 4 * MAX_FRAME_BYTES,
  dedupWindowMs: 2 * 60 * 1000,
  memberEventsMaxMembers: 512,
  memberCountIntervalMs: 1000,
  tokenWillExpireNoticeMs: 30_000,
  membershipRateLimitPerSecond: 50,
  queryRateLimitPerSecond: 50,
  maxChannelsPerUser: 50,
  inboxMaxBytes: 8 * 1024 * 1024,
  inboxMaxMessagesPerSender: 750,
  inboxMaxBytesPerSender: 6 * 1024 * 1024,
  offlineMaxBytesPerSender: 4 * 1024 * 1024,
  loginDeadlineMs: 10_000,
  handshakeTimeoutMs: 5_000,
  maxBufferedBytesPerSocket: 16 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
});

/**
 * Heartbeat timings follow the interruption grace so that a black-holed link is noticed well
 * inside it (R3.2): the client pings every grace/4 (capped at 2 s) and a link silent for grace/2
 * (capped at 5 s, and never under two intervals) counts as lost. At the default 4 s grace that
 * is a ping every second and a 2 s timeout, which leaves the client 2 s to re-dial before
 * RECONNECTING. A ping every grace/8 would notice nothing sooner (the timeout decides that) and
 * doubles the heartbeat traffic: with 2000 clients, 4000 frames a second more for the server.
 * Both ends read what arrived before they judge a link silent, so an event-loop stall does not
 * pass for a dead link.
 */
export function heartbeatFor(timing: Timing, override: Partial<HeartbeatOptions> = {}): HeartbeatOptions {
  const intervalMs = override.intervalMs ?? Math.max(5, Math.min(2000, Math.round(timing.interruptionGraceMs / 4)));
  const timeoutMs =
    override.timeoutMs ?? Math.max(2 * intervalMs, Math.min(5000, Math.round(timing.interruptionGraceMs / 2)));
  if (!(intervalMs > 0) || !(timeoutMs > intervalMs)) {
    throw new RangeError('heartbeat.timeoutMs must be longer than heartbeat.intervalMs, both positive');
  }
  return { intervalMs, timeoutMs };
}

export interface ServerConfig {
  port: number;
  host: string;
  secret: string;
  timing: Timing;
  limits: RtmServerLimits;
  heartbeat: HeartbeatOptions;
  inspector: boolean;
  inspectorAccessToken: string | undefined;
  inspectorDemo: boolean;
  allowAnonymousLogin: boolean;
  flushDelayMs: number;
  listenBacklog: number;
}

/**
 * The coalescing window of a node on a shared Redis (`flushDelayMs`). In the 3-node fan-out
 * bench (1000 members, 50 messages/s) a node with none wrote 1.5 frames per WebSocket message
 * against 2.1 on a single server, and spent 1.66 × the CPU per delivery summed over the nodes;
 * with 5 ms, 1.30 ×, the median delivery 1 ms later and the 99th percentile earlier (docs/bench.md 6).
 */
export const CLUSTER_FLUSH_DELAY_MS = 5;

export function resolveConfig(options: RtmServerOptions): ServerConfig {
  const timing = resolveTiming(options.timing);
  const limits = { ...defaultLimits };
  for (const key of Object.keys(defaultLimits) as Array<keyof RtmServerLimits>) {
    const value = options.limits?.[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
      throw new RangeError(`limits.${key} must be a non-negative finite number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return {
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    secret: options.secret ?? randomBytes(32).toString('base64url'),
    timing,
    limits,
    heartbeat: heartbeatFor(timing, options.heartbeat),
    inspector: options.inspector ?? true,
    inspectorAccessToken: options.inspectorAccessToken,
    inspectorDemo: options.inspectorDemo ?? false,
    allowAnonymousLogin: options.allowAnonymousLogin === true,
    flushDelayMs: nonNegative('flushDelayMs', options.flushDelayMs ?? (options.redis ? CLUSTER_FLUSH_DELAY_MS : 0)),
    listenBacklog: positiveInteger('listenBacklog', options.listenBacklog ?? DEFAULT_LISTEN_BACKLOG),
  };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const DEFAULT_LISTEN_BACKLOG = 4096;

function positiveInteger(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative finite number, got ${String(value)}`);
  }
  return value;
}
