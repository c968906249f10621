/**
 * `createRtmServer`: one Node HTTP server carrying the RTM WebSocket endpoint (ws, noServer
 * mode), the inspector page and relay, and GET /healthz. Wires the services together and runs
 * the two periodic sweeps (heartbeat, inbox expiry).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { createInspector, type Inspector } from '../../inspector/server/index.js';
import { RtmError, RtmErrorCode } from '../errors.js';
import { CloseCode, SUBPROTOCOL, isValidId } from '../protocol/index.js';
import { AttributeService } from './attribute-service.js';
import { ChannelService } from './channel-service.js';
import { LocalBus, type NodeBus } from './bus/node-bus.js';
import { SessionHost } from './local-session.js';
import { Connection, SendBudget, WriteScheduler } from './connection.js';
import type { ServerContext } from './context.js';
import { FrameHandler } from './frame-handler.js';
import { silentLogger, type RtmLogger } from './logger.js';
import { isLoopbackHost, resolveConfig, type RedisOption, type RtmServerOptions } from './options.js';
import { MemberCounts } from './member-counts.js';
import { PeerService } from './peer-service.js';
import { PresenceSubscriptions } from './presence-subscriptions.js';
import { SessionService } from './session-service.js';
import { MemoryStore } from './store/memory-store.js';
import type { RtmStore } from './store/store.js';
import { createToken, type TokenOptions } from './token.js';
import { TokenNotices } from './token-notices.js';
import { SharedFrame } from './ws-frame.js';
import { UserService } from './user-service.js';

export interface RtmServer {
  /** 'ws://HOST:PORT' */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Present when the inspector is on. */
  readonly inspector?: { pageUrl: string; relayUrl: string };
  /** A login token for uid, signed with the server secret (default lifetime 24 h). */
  createToken(uid: string, options?: TokenOptions): string;
  /** Kicks the uid (BANNED_BY_SERVER) and refuses its later logins (REJECTED), R6.2. */
  ban(uid: string): void;
  /** Lifts a ban: the uid may log in again. Resolves once the store has it (after any earlier ban). */
  unban(uid: string): Promise<void>;
  /** Counts for /healthz and tests. */
  stats(): { connections: number; sessions: number };
  close(): Promise<void>;
}

export async function createRtmServer(options: RtmServerOptions = {}): Promise<RtmServer> {
  const config = resolveConfig(options);
  if (options.store && options.redis) throw new RangeError('give either store or redis, not both');
  if (config.inspector && !isLoopbackHost(config.host) && !config.inspectorAccessToken) {
    throw new RtmError(
      RtmErrorCode.INVALID_ARGUMENT,
      `the inspector on a non-loopback host (${config.host}) needs inspectorAccessToken (R9)`,
    );
  }
  const issueToken = (uid: string, tokenOptions?: TokenOptions): string => {
    if (!isValidId(uid)) throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'uid must be 1–64 printable ASCII characters without spaces');
    return createToken(config.secret, uid, tokenOptions);
  };
  const ban = (uid: string): void => {
    if (!isValidId(uid)) throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'uid must be 1–64 printable ASCII characters without spaces');
    sessions.ban(uid).catch((error: unknown) => ctx.logger.log('error', 'ban.failed', { uid, error: String(error) }));
  };
  const unban = async (uid: string): Promise<void> => {
    if (!isValidId(uid)) throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'uid must be 1–64 printable ASCII characters without spaces');
    await sessions.unban(uid);
  };

  let inspector: Inspector | undefined;
  if (config.inspector) {
    inspector = createInspector({
      ...(config.inspectorAccessToken ? { accessToken: config.inspectorAccessToken } : {}),
      ...(options.inspectorAllowedOrigins ? { allowedOrigins: options.inspectorAllowedOrigins } : {}),
      ...(options.inspectorAllowedHosts ? { allowedHosts: options.inspectorAllowedHosts } : {}),
      // The demo mints tokens and bans: only when asked for (issue 12.4).
      ...(config.inspectorDemo ? { demo: { rtmUrl: () => url, createToken: (uid) => issueToken(uid), ban, timing: config.timing } } : {}),
    });
  }

  const ownsStore = !options.store;
  const logger = options.logger ?? silentLogger;
  const { store, bus } = options.redis
    ? await openRedisNode(options.redis, logger, config.timing.presenceTimeoutMs)
    : { store: options.store ?? new MemoryStore(), bus: new LocalBus() };
  const ctx: ServerContext = {
    config,
    store,
    bus,
    epoch: await store.epoch(),
    logger,
    sessions: new Map(),
    connections: new Set(),
    sessionHost: new SessionHost({
      inspect: inspector?.inspect,
      onEnded: (output) => sessions.sessionEnded(output),
      onError: (error) => logger.log('error', 'session.actor_failed', { error: String(error) }),
      rates: {
        send: config.limits.rateLimitPerSecond,
        membership: config.limits.membershipRateLimitPerSecond,
        query: config.limits.queryRateLimitPerSecond,
      },
    }),
    inflightSends: new Map(),
  };
  const memberCounts = new MemberCounts(ctx);
  const channels = new ChannelService(ctx, memberCounts.changed);
  memberCounts.attach(channels);
  const peers = new PeerService(ctx);
  const presence = new PresenceSubscriptions(ctx);
  const tokenNotices = new TokenNotices(ctx);
  const sessions = new SessionService(ctx, channels, peers, {
    online: (session) => presence.online(session.uid),
    away: (session) => presence.away(session.uid),
    ended: (session, reason) => {
      presence.ended(session, reason);
      tokenNotices.disarm(session);
    },
    tokenPresented: (session, expiresAt) => tokenNotices.arm(session, expiresAt),
  });
  const users = new UserService(ctx);
  const attributes = new AttributeService(ctx);
  const handler = new FrameHandler(ctx, { sessions, peers, channels, users, attributes, memberCounts, presence });
  /** Set while this node cannot reach the shared store (see the bus's `fenced`). */
  let fenced = false;
  /** Lets every session go here without a store write, and closes the sockets with the shutdown code: the clients resume elsewhere or here. */
  const dropEverySession = (why: string): void => {
    sessions.releaseAll();
    for (const connection of [...ctx.connections]) connection.close(CloseCode.SERVER_SHUTDOWN, why);
  };
  await bus.start({
    channelMessage: (message) => channels.fanOut(message),
    memberEvent: (channel, uid, joined) => channels.memberEvent(channel, uid, joined),
    peerMessage: (message) => peers.deliverLive(message),
    control: (message) => {
      sessions.released(message).catch((error: unknown) => logger.log('error', 'bus.control_failed', { error: String(error) }));
    },
    notice: (notice) => {
      if (notice.t === 'presence') presence.deliver(notice.uid, notice.state);
      else if (notice.t === 'channel.attrs') channels.notifyLocalMembers(notice.channel, new SharedFrame(Buffer.from(notice.frame)));
      // Coalesced with the node's own call for a change it made (one notice per interval).
      else memberCounts.changed(notice.channel);
    },
    orphanExpired: (session) => sessions.expireOrphan(session),
    fenced: (on) => {
      // Fail closed (R12.3): without the shared store this node serves nobody from memory.
      fenced = on;
      if (on) dropEverySession('lost the shared store');
    },
    // The store forgot everything (R11.2): the clients come back, find their sessions gone, log
    // in afresh and meet the new epoch in their grants.
    historyReset: () => dropEverySession('the shared store has a new history'),
  });
  const writes = new WriteScheduler(
    config.flushDelayMs,
    undefined,
    new SendBudget(config.limits.maxBufferedBytesPerSocket, config.limits.maxBufferedBytes),
  );
  let url = '';
  let closing = false;

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: config.limits.maxPayloadBytes,
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  // One listener of each kind for every socket (`this` is the socket), so that an idle
  // connection carries no closures of its own.
  function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    handler.onMessage(connectionOf(this), data, isBinary);
  }
  function onSocketClose(this: WebSocket, code: number): void {
    connectionOf(this).closedByPeer(code);
  }
  function onSocketError(this: WebSocket, error: Error): void {
    ctx.logger.log('debug', 'socket.error', { connection: connectionOf(this).id, error: error.message });
  }
  const onConnectionClosed = (closed: Connection, code: number): void => {
    ctx.connections.delete(closed);
    ctx.logger.log('debug', 'socket.closed', { connection: closed.id, uid: closed.session?.uid, code });
    if (!closing) sessions.linkLost(closed);
  };

  // Sockets not logged in yet, oldest first, with when they opened (monotonic clock): one not
  // logged in by the login deadline is closed (4006), so idle sockets cannot pile up.
  let awaitingLogin: Array<{ connection: Connection; openedAt: number }> = [];
  const closeLateLogins = (now: number): void => {
    const cutoff = now - config.limits.loginDeadlineMs;
    let n = 0;
    while (n < awaitingLogin.length && awaitingLogin[n]!.openedAt <= cutoff) {
      const { connection } = awaitingLogin[n++]!;
      if (!connection.closed && !connection.session) connection.close(CloseCode.LOGIN_DEADLINE, 'not logged in in time');
    }
    if (n > 0) awaitingLogin = awaitingLogin.slice(n);
  };

  const onConnection = (ws: WebSocket, socket: Duplex): void => {
    const connection = new Connection(ws, socket, writes, onConnectionClosed);
    (ws as SocketWithConnection)[CONNECTION] = connection;
    ctx.connections.add(connection);
    awaitingLogin.push({ connection, openedAt: connection.lastSeen });
    ctx.logger.log('debug', 'socket.opened', { connection: connection.id });
    ws.on('message', onSocketMessage);
    ws.on('close', onSocketClose);
    ws.on('error', onSocketError);
  };

  // TCP connections whose first HTTP request (the WebSocket handshake) has not arrived yet. They
  // count against maxConnections and are dropped after handshakeTimeoutMs: left to Node they
  // would live for its 60 s header timeout. Each has its timer; nothing of it stays on the
  // socket once the handshake is done.
  const handshaking = new Map<Socket, NodeJS.Timeout>();
  const handshakeDone = (socket: Socket): boolean => {
    const timer = handshaking.get(socket);
    if (timer === undefined) return false;
    clearTimeout(timer);
    handshaking.delete(socket);
    socket.off('close', onHandshakingClosed);
    return true;
  };
  function onHandshakingClosed(this: Socket): void {
    handshakeDone(this);
  }
  // Connections refused at accept time: they got their 503 and are ending; any request they send is ignored.
  const refused = new WeakSet<Duplex>();

  const http = createServer((req, res) => {
    if (refused.has(req.socket)) return;
    handshakeDone(req.socket);
    if (inspector?.handleRequest(req, res)) return;
    serveHttp(req, res);
  });
  // Later requests on a kept-alive connection get no longer for their headers than the first.
  http.headersTimeout = Math.min(http.headersTimeout, Math.max(1, config.limits.handshakeTimeoutMs));
  http.on('connection', (socket: Socket) => {
    if (closing || ctx.connections.size + handshaking.size >= config.limits.maxConnections) {
      refused.add(socket);
      refuse(socket, SERVICE_UNAVAILABLE);
      return;
    }
    const timer = setTimeout(() => {
      if (handshakeDone(socket)) socket.destroy();
    }, config.limits.handshakeTimeoutMs);
    timer.unref();
    handshaking.set(socket, timer);
    socket.once('close', onHandshakingClosed);
  });
  const serveHttp = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(fenced ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: fenced ? 'fenced' : 'ok', ...(bus.spansNodes ? { node: bus.nodeId, fenced } : {}), ...stats() }));
      return;
    }
    res.writeHead(path === '/' ? 426 : 404, { 'content-type': 'text/plain' });
    res.end(path === '/' ? `connect with a WebSocket (subprotocol ${SUBPROTOCOL})\n` : 'not found\n');
  };
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refused.has(socket)) return;
    handshakeDone(req.socket);
    if (inspector?.handleUpgrade(req, socket, head)) return;
    if (closing || fenced || ctx.connections.size >= config.limits.maxConnections) {
      refuse(socket, SERVICE_UNAVAILABLE);
      return;
    }
    // Offering subprotocols none of which is ours is refused; offering none is accepted (docs/server.md).
    const offered = req.headers['sec-websocket-protocol'];
    if (offered !== undefined && !offered.split(',').some((protocol) => protocol.trim() === SUBPROTOCOL)) {
      refuse(socket, UNSUPPORTED_SUBPROTOCOL);
      return;
    }
    // Until ws takes the socket over (with its own error listener), an error just ends it.
    socket.on('error', destroyOnError);
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', destroyOnError);
      onConnection(ws, socket);
    });
  });
  http.on('clientError', (_error, socket) => socket.destroy());

  const stats = () => ({ connections: ctx.connections.size, sessions: ctx.sessions.size });

  // A socket that sent nothing (not even a ping) for the heartbeat timeout is closed; its
  // session goes away and the presence timer starts (R4.1).
  // The sweep runs after the next poll phase (setImmediate), so frames that arrived while the
  // event loop was stalled are read before any socket is judged silent.
  // Liveness is judged on the monotonic clock: a wall-clock step closes no healthy socket.
  // The same sweep enforces the login deadline and recounts unsent bytes.
  const sweepSilent = (): void => {
    const now = performance.now();
    const silentSince = now - config.heartbeat.timeoutMs;
    for (const connection of ctx.connections) {
      if (connection.lastSeen < silentSince) connection.close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    }
    closeLateLogins(now);
    writes.budget.refresh();
  };
  const heartbeatSweep = setInterval(() => setImmediate(sweepSilent), config.heartbeat.intervalMs);
  heartbeatSweep.unref();
  const housekeeping = setInterval(
    () => {
      // Request budgets of users without a session here that have refilled (see RateLimitRegistry).
      ctx.sessionHost.rateLimits.sweep((uid) => ctx.sessions.has(uid));
      peers
        .expireOld()
        .then(() => ctx.store.sweep(Date.now()))
        .catch((error: unknown) => ctx.logger.log('error', 'housekeeping.failed', { error: String(error) }));
    },
    Math.max(50, Math.min(30_000, config.limits.inboxMaxAgeMs / 4)),
  );
  housekeeping.unref();

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ port: config.port, host: config.host, backlog: config.listenBacklog }, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clearInterval(heartbeatSweep);
    clearInterval(housekeeping);
    await inspector?.close();
    await bus.close();
    if (ownsStore) await store.close();
    throw error;
  }
  const { port } = http.address() as AddressInfo;
  const urlHost = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  url = `ws://${urlHost}:${port}`;
  ctx.logger.log('info', 'server.listening', { url, inspector: Boolean(inspector) });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      closing = true;
      clearInterval(heartbeatSweep);
      clearInterval(housekeeping);
      handler.stop();
      memberCounts.stop();
      tokenNotices.stop();
      for (const connection of [...ctx.connections]) connection.close(CloseCode.SERVER_SHUTDOWN, 'server shutting down');
      ctx.sessionHost.stop();
      ctx.sessions.clear();
      wss.close();
      await inspector?.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      for (const connection of ctx.connections) connection.terminate();
      await bus.close();
      if (ownsStore) await ctx.store.close();
      ctx.logger.log('info', 'server.closed', {});
    })());

  return {
    url,
    host: config.host,
    port,
    ...(inspector ? { inspector: { pageUrl: `http://${urlHost}:${port}/inspector`, relayUrl: `ws://${urlHost}:${port}/inspector/relay` } } : {}),
    createToken: issueToken,
    ban,
    unban,
    stats,
    close,
  };
}

const SERVICE_UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
const UNSUPPORTED_SUBPROTOCOL_TEXT = `this endpoint speaks only the ${SUBPROTOCOL} subprotocol\n`;
const UNSUPPORTED_SUBPROTOCOL = `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${UNSUPPORTED_SUBPROTOCOL_TEXT.length}\r\n\r\n${UNSUPPORTED_SUBPROTOCOL_TEXT}`;

/** Answers a handshake with `response` and ends the connection; a peer that does not close its side is dropped 1 s later. */
function refuse(socket: Duplex, response: string): void {
  socket.on('error', destroyOnError);
  socket.end(response);
  setTimeout(() => socket.destroy(), 1000).unref();
}

const CONNECTION = Symbol('connection');
type SocketWithConnection = WebSocket & { [CONNECTION]: Connection };

function connectionOf(ws: WebSocket): Connection {
  return (ws as SocketWithConnection)[CONNECTION];
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * One node of a cluster: the Redis store and the node bus beside it, imported only here so that
 * a server without `redis` never loads the client.
 */
async function openRedisNode(option: string | RedisOption, logger: RtmLogger, presenceTimeoutMs: number): Promise<{ store: RtmStore; bus: NodeBus }> {
  const { url, keyPrefix, nodeId } = typeof option === 'string' ? { url: option, keyPrefix: undefined, nodeId: undefined } : option;
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new RangeError('redis must be a redis:// or rediss:// URL');
  if (nodeId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) throw new RangeError('redis.nodeId must be 1–64 letters, digits, - or _');
  const [{ createRedisStore }, { RedisBus }] = await Promise.all([import('./store/redis-store.js'), import('./bus/redis-bus.js')]);
  const store = await createRedisStore({
    url,
    live: true,
    ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    onError: (error) => logger.log('warn', 'redis.error', { error: String(error) }),
  });
  return { store, bus: new RedisBus(store, logger, { ...(nodeId ? { nodeId } : {}), presenceTimeoutMs }) };
}
