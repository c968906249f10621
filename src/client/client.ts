/**
 * RtmClient: the SDK object of API.md. It runs the connection machine (`client.actor`) with a
 * real link as the machine's `link` actor, turns the machine's emitted events into the app's
 * events, and keeps what must survive a lost link: the outbox of unanswered requests, the
 * sequences already received, the channels joined and the attributes set.
 */
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { ConnectionChangeReason, ConnectionState } from '../../machines/reasons.js';
import { resolveTiming, type Timing } from '../../machines/timing.js';
import { RtmError, RtmErrorCode } from '../errors.js';
import {
  AttributesResult,
  ChannelAttributesResult,
  JoinResult,
  PeerSendResult,
  PresenceResult,
  MAX_MEMBER_COUNT_QUERY,
  MemberCountResult,
  PresenceStateResult,
  type ChannelMessageFrame,
  type PeerMessageFrame,
  type ServerFrame,
  type SessionGrant,
} from '../protocol/client.js';
import { PeerSubscriptionOption } from '../status-codes.js';
import {
  changedAttributes,
  checkAttributeKeys,
  notifyOption,
  toChannelAttributes,
  type AttributesMap,
  type ChannelAttributeOptions,
  type ChannelAttributes,
} from './attributes.js';
import { RtmChannel, type ChannelHost } from './channel.js';
import { TypedEmitter } from './emitter.js';
import { LinkSocket } from './link.js';
import { runtimeLink, type AnyActorSystem, type LinkRuntime } from './link.actor.js';
import { completeMessage, decodeMessage, encodeMessage } from './messages.js';
import { PendingRequests, type RequestBody } from './pending-requests.js';
import { PresenceWatch, type PeersOnlineStatusMap } from './presence-watch.js';
import { RecoveryCollector, type RecoveryReport } from './recovery.js';
import { SeenMessages } from './seen-messages.js';
import type { WebSocketConstructor } from './socket.js';
import type { MessageProps, PeerMessageDropped, ReceivedMessage, RtmMessage, SendMessageOptions } from './types.js';
import {
  checkAttributes,
  checkId,
  checkToken,
  checkUidList,
  pairsToRecord,
} from './validate.js';

export interface RtmClientOptions {
  /** The server's WebSocket URL, e.g. `ws://127.0.0.1:8080`. */
  url: string;
  /** Any subset of the timing rules (SPEC §2); pass the server's to keep them in step. */
  timing?: Partial<Timing>;
  /** Passed to `createActor`: e.g. `createWebSocketInspector(...).inspect`. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** The WebSocket implementation; default the global one, else `ws` (Node). */
  WebSocket?: WebSocketConstructor;
}

export interface RtmClientEvents {
  ConnectionStateChanged: (newState: ConnectionState, reason: ConnectionChangeReason) => void;
  MessageFromPeer: (message: ReceivedMessage, peerId: string, props: MessageProps) => void;
  TokenExpired: () => void;
  /** The token expires soon (30 s before, by default): call renewToken (14.2). */
  TokenPrivilegeWillExpire: () => void;
  /** Users watched with subscribePeersOnlineStatus whose state changed (all of them right after subscribing), 14.2. */
  PeersOnlineStatusChanged: (status: PeersOnlineStatusMap) => void;
  /** A stored peer message this client sent was dropped by the inbox bound (R5.1: never silently). */
  PeerMessageDropped: (dropped: PeerMessageDropped) => void;
  /** After every reconnect, once: what the replay delivered and what, if anything, was lost (R11.1). */
  Recovered: (report: RecoveryReport) => void;
}

/**
 * One machine for every client: the runtime parts (the link, `restoreSession`) find their client
 * through the actor system, which is the client's own. Providing them per client instead would
 * build a new machine (every state node, and XState's caches on them) for each client.
 */
const clientBySystem = new WeakMap<AnyActorSystem, RtmClient>();
const clientOf = (system: AnyActorSystem): RtmClient => {
  const client = clientBySystem.get(system);
  if (!client) throw new Error('connection actor without its RtmClient');
  return client;
};
const clientMachine = connectionMachine.provide({
  actors: {
    link: runtimeLink((system) => clientOf(system)['linkRuntime']),
  },
  actions: {
    restoreSession: ({ system }) => clientOf(system)['restoreSession'](),
    openOutbox: ({ system }) => clientOf(system)['linkReady'](),
    holdOutbox: ({ system, event }) => {
      clientOf(system)['pending'].linkDown(event.type === 'LINK_DOWN' ? event.closeCode : undefined);
    },
  },
});

function createConnectionActor(client: RtmClient, options: RtmClientOptions, timing: Timing) {
  const actor = createActor(clientMachine, { input: { timing }, ...(options.inspect ? { inspect: options.inspect } : {}) });
  clientBySystem.set(actor.system, client);
  return actor;
}

export type ConnectionActor = Actor<typeof connectionMachine>;

export class RtmClient extends TypedEmitter<RtmClientEvents> {
  /** The running connection machine (for inspection, `getSnapshot()`, `subscribe`). */
  readonly actor: ConnectionActor;
  readonly timing: Timing;
  /** The WebSocket of the link machine's current attempt. */
  private readonly socket: LinkSocket;
  /** What the link machine's runtime parts reach (built once: they look it up on every dial and hang-up). */
  private readonly linkRuntime: LinkRuntime;
  private readonly pending: PendingRequests;
  private readonly seen = new SeenMessages();
  private readonly channels = new Map<string, RtmChannel>();
  /** Channels the app has joined (rejoined after presence expiry, R4.4). */
  private readonly joined = new Set<string>();
  /** Server time at each join whose history position the server did not tell (replay filter). */
  private readonly joinedAt = new Map<string, number>();
  /** The attributes last set, re-sent after presence expiry (R4.4). */
  private attributes: Array<[string, string]> | null = null;
  private pendingLogin: { resolve: () => void; reject: (error: RtmError) => void } | null = null;
  private serverClockOffset = 0;
  private ackScheduled = false;
  /** The server history the sequences count in (R11.2); null before the first grant. */
  private epoch: string | null = null;
  /** The inbox's drop counter at the last grant (see SessionGrant.inboxDropped). */
  private inboxDroppedSeen = 0;
  /** The report of the reconnect in progress (R11.1), from its grant until it is emitted. */
  private recovery: RecoveryCollector | null = null;
  /** The rejoins of a restore (R4.4), which the report waits for. */
  private restoring: Array<Promise<unknown>> = [];
  private messageCounter = 0;
  private readonly channelHost: ChannelHost;
  /** Users watched with subscribePeersOnlineStatus (14.2). */
  private readonly presenceWatch = new PresenceWatch((status) => this.emit('PeersOnlineStatusChanged', status));

  constructor(options: RtmClientOptions) {
    super();
    if (typeof options?.url !== 'string' || !/^wss?:\/\//.test(options.url)) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'options.url must be a ws:// or wss:// URL');
    }
    try {
      this.timing = resolveTiming(options.timing);
    } catch (error) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, (error as Error).message);
    }
    this.socket = new LinkSocket(
      { url: options.url, timing: this.timing, WebSocket: options.WebSocket },
      { resumePoint: () => this.seen.resumePoint(this.joined), onFrame: (frame) => this.route(frame) },
    );
    this.pending = new PendingRequests((encoded) => this.socket.transmit(encoded), this.timing.requestTimeoutMs);
    this.linkRuntime = { socket: this.socket, granted: (grant, how) => this.granted(grant as SessionGrant, how) };
    this.channelHost = {
      request: (body, options) => this.pending.request(body, options),
      ensureLoggedIn: () => this.ensureLoggedIn(),
      isJoined: (channelId) => this.joined.has(channelId),
      markJoined: (channelId, seq) => {
        this.joined.add(channelId);
        this.seen.channelJoined(channelId, seq);
        if (seq === undefined && !this.joinedAt.has(channelId)) this.joinedAt.set(channelId, this.serverNow());
      },
      markLeft: (channelId) => {
        this.joined.delete(channelId);
        this.joinedAt.delete(channelId);
        this.seen.channelLeft(channelId);
      },
      newMessageId: () => this.newMessageId(),
    };
    this.actor = createConnectionActor(this, options, this.timing);
    this.actor.on('ConnectionStateChanged', ({ state, reason }) => this.stateChanged(state, reason));
    this.actor.on('TokenExpired', () => this.emit('TokenExpired'));
    this.actor.start();
  }

  get connectionState(): ConnectionState {
    const value = this.actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as ConnectionState;
  }

  // ---- login ----------------------------------------------------------------------------

  /**
   * R1: resolves once CONNECTED; rejects with the server's code, TIMEOUT or ALREADY_LOGIN.
   * Without a token the login is anonymous, which only a server with `allowAnonymousLogin`
   * accepts (14.2); others refuse it with INVALID_TOKEN.
   */
  async login(options: { uid: string; token?: string }): Promise<void> {
    const uid = checkId(options?.uid, 'uid');
    const token = options?.token === undefined ? '' : checkToken(options.token);
    if (this.connectionState !== ConnectionState.DISCONNECTED) {
      throw new RtmError(RtmErrorCode.ALREADY_LOGIN, `login() while ${this.connectionState}; call logout() first`);
    }
    this.seen.reset();
    this.epoch = null;
    this.recovery = null;
    const done = new Promise<void>((resolve, reject) => {
      this.pendingLogin = { resolve, reject };
    });
    this.actor.send({ type: 'LOGIN', uid, token });
    return done;
  }

  /** R7: from any state but DISCONNECTED → DISCONNECTED / LOGOUT; the server ends the session at once. */
  async logout(): Promise<void> {
    if (this.connectionState === ConnectionState.DISCONNECTED) return;
    this.actor.send({ type: 'LOGOUT' });
  }

  /**
   * R3.6: the next attempt (login or resume) uses this token. While the link is up the server is
   * given it at once too (14.2: it checks it and times its TokenPrivilegeWillExpire by it), and
   * the promise settles with the server's answer.
   */
  async renewToken(token: string): Promise<void> {
    const checked = checkToken(token);
    this.ensureLoggedIn();
    this.actor.send({ type: 'RENEW_TOKEN', token: checked });
    if (this.connectionState === ConnectionState.CONNECTED && this.socket.isUp) {
      await this.pending.request({ t: 'token.renew', token: checked });
    }
  }

  // ---- peer messages, presence, attributes -----------------------------------------------

  async sendMessageToPeer(
    message: RtmMessage,
    peerId: string,
    options: SendMessageOptions = {},
  ): Promise<{ hasPeerReceived: boolean }> {
    const encoded = encodeMessage(message);
    const to = checkId(peerId, 'peerId');
    this.ensureLoggedIn();
    const answer = await this.pending.request({
      t: 'peer.send',
      msgId: this.newMessageId(),
      to,
      ...encoded,
      offline: options?.enableOfflineMessaging === true,
    });
    return { hasPeerReceived: this.parse(PeerSendResult, answer.data, 'peer.send').hasPeerReceived };
  }

  async queryPeersOnlineStatus(uids: string[]): Promise<Record<string, boolean>> {
    const checked = checkUidList(uids);
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'presence.query', uids: checked });
    const status: Record<string, boolean> = {};
    for (const [uid, online] of this.parse(PresenceResult, answer.data, 'presence.query').status) {
      Object.defineProperty(status, uid, { value: online, enumerable: true, writable: true, configurable: true });
    }
    return status;
  }

  /** Replaces the user's attributes; they are re-sent after presence expiry (R4.4). */
  async setLocalUserAttributes(attributes: Record<string, string>): Promise<void> {
    const attrs = checkAttributes(attributes);
    this.ensureLoggedIn();
    await this.pending.request({ t: 'attrs.set', attrs });
    this.attributes = attrs;
  }

  async getUserAttributes(uid: string): Promise<Record<string, string>> {
    const checked = checkId(uid, 'uid');
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'attrs.get', uid: checked });
    return pairsToRecord(this.parse(AttributesResult, answer.data, 'attrs.get').attrs);
  }

  // ---- Agora RTM 1.x compatibility (issue 14.2) ---------------------------------------------

  /** Sets the named attributes of this user, keeping the others; re-sent after presence expiry (R4.4). */
  async addOrUpdateLocalUserAttributes(attributes: AttributesMap): Promise<void> {
    const attrs = checkAttributes(attributes);
    this.ensureLoggedIn();
    await this.pending.request({ t: 'attrs.update', attrs });
    this.attributes = changedAttributes(this.attributes ?? [], { set: attrs });
  }

  async deleteLocalUserAttributesByKeys(attributeKeys: string[]): Promise<void> {
    const keys = checkAttributeKeys(attributeKeys);
    this.ensureLoggedIn();
    await this.pending.request({ t: 'attrs.delete', keys });
    this.attributes = changedAttributes(this.attributes ?? [], { remove: keys });
  }

  async clearLocalUserAttributes(): Promise<void> {
    this.ensureLoggedIn();
    await this.pending.request({ t: 'attrs.set', attrs: [] });
    this.attributes = [];
  }

  /** The asked attributes the user has (keys it lacks are left out). */
  async getUserAttributesByKeys(userId: string, attributeKeys: string[]): Promise<AttributesMap> {
    const uid = checkId(userId, 'userId');
    const keys = checkAttributeKeys(attributeKeys);
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'attrs.getKeys', uid, keys });
    return pairsToRecord(this.parse(AttributesResult, answer.data, 'attrs.getKeys').attrs);
  }

  /** Replaces every attribute of the channel (no membership needed). */
  async setChannelAttributes(channelId: string, attributes: AttributesMap, options?: ChannelAttributeOptions): Promise<void> {
    await this.changeChannelAttributes('channel.attrs.set', channelId, attributes, options);
  }

  /** Sets the named attributes of the channel, keeping the others. */
  async addOrUpdateChannelAttributes(channelId: string, attributes: AttributesMap, options?: ChannelAttributeOptions): Promise<void> {
    await this.changeChannelAttributes('channel.attrs.update', channelId, attributes, options);
  }

  async deleteChannelAttributesByKeys(channelId: string, attributeKeys: string[], options?: ChannelAttributeOptions): Promise<void> {
    const channel = checkId(channelId, 'channelId');
    const keys = checkAttributeKeys(attributeKeys);
    const notify = notifyOption(options);
    this.ensureLoggedIn();
    await this.pending.request({ t: 'channel.attrs.delete', channel, keys, notify });
  }

  async clearChannelAttributes(channelId: string, options?: ChannelAttributeOptions): Promise<void> {
    const channel = checkId(channelId, 'channelId');
    const notify = notifyOption(options);
    this.ensureLoggedIn();
    await this.pending.request({ t: 'channel.attrs.clear', channel, notify });
  }

  async getChannelAttributes(channelId: string): Promise<ChannelAttributes> {
    const channel = checkId(channelId, 'channelId');
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'channel.attrs.get', channel });
    return toChannelAttributes(this.parse(ChannelAttributesResult, answer.data, 'channel.attrs.get').attrs);
  }

  async getChannelAttributesByKeys(channelId: string, keys: string[]): Promise<ChannelAttributes> {
    const channel = checkId(channelId, 'channelId');
    const checked = checkAttributeKeys(keys);
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'channel.attrs.get', channel, keys: checked });
    return toChannelAttributes(this.parse(ChannelAttributesResult, answer.data, 'channel.attrs.get').attrs);
  }

  /** Member counts of 1–32 channels, joined or not: `{ channelId: count }`. */
  async getChannelMemberCount(channelIds: string[]): Promise<Record<string, number>> {
    if (!Array.isArray(channelIds) || channelIds.length === 0 || channelIds.length > MAX_MEMBER_COUNT_QUERY) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `expected 1–${MAX_MEMBER_COUNT_QUERY} channel ids`);
    }
    const channels = channelIds.map((id) => checkId(id, 'channelId'));
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'channel.counts', channels });
    const counts: Record<string, number> = {};
    for (const [channel, count] of this.parse(MemberCountResult, answer.data, 'channel.counts').counts) {
      Object.defineProperty(counts, channel, { value: count, enumerable: true, writable: true, configurable: true });
    }
    return counts;
  }

  /**
   * Watches users' online state: `PeersOnlineStatusChanged` reports all of them once subscribed,
   * then each change (ONLINE, UNREACHABLE while away within the presence window, OFFLINE), and
   * after a reconnect what changed meanwhile. Subscriptions end with the login.
   */
  async subscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    const uids = checkUidList(peerIds);
    this.ensureLoggedIn();
    const answer = await this.pending.request({ t: 'presence.subscribe', uids });
    this.presenceWatch.subscribed(this.parse(PresenceStateResult, answer.data, 'presence.subscribe').status);
  }

  async unsubscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    const uids = checkUidList(peerIds);
    this.ensureLoggedIn();
    await this.pending.request({ t: 'presence.unsubscribe', uids });
    this.presenceWatch.unsubscribed(uids);
  }

  /** The users watched with subscribePeersOnlineStatus. */
  async queryPeersBySubscriptionOption(option: PeerSubscriptionOption): Promise<string[]> {
    if (option !== PeerSubscriptionOption.ONLINE_STATUS) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `unknown subscription option ${String(option)}`);
    }
    this.ensureLoggedIn();
    return this.presenceWatch.watched;
  }

  /** A message object with its messageType filled in; INVALID_MESSAGE as a send would. */
  createMessage<T extends RtmMessage>(message: Partial<T>): T {
    return completeMessage(message) as T;
  }

  private async changeChannelAttributes(
    t: 'channel.attrs.set' | 'channel.attrs.update',
    channelId: string,
    attributes: AttributesMap,
    options: ChannelAttributeOptions | undefined,
  ): Promise<void> {
    const channel = checkId(channelId, 'channelId');
    const attrs = checkAttributes(attributes);
    const notify = notifyOption(options);
    this.ensureLoggedIn();
    await this.pending.request({ t, channel, attrs, notify });
  }

  /** After a reconnect: ask again for every watched user and report what changed while away. */
  private refreshPresenceWatch(): void {
    const watched = this.presenceWatch.watched;
    for (let i = 0; i < watched.length; i += 256) {
      this.pending
        .request({ t: 'presence.subscribe', uids: watched.slice(i, i + 256) })
        .then((answer) => {
          const result = PresenceStateResult.safeParse(answer.data);
          if (result.success) this.presenceWatch.changed(result.data.status);
        })
        .catch(() => undefined); // the login ended meanwhile: subscriptions end with it
    }
  }

  /** The server's frames of the compatibility layer. */
  private routeAgora(frame: ServerFrame): void {
    switch (frame.t) {
      case 'channel.attrs':
        if (this.joined.has(frame.channel)) this.channels.get(frame.channel)?.deliverAttributes(toChannelAttributes(frame.attrs));
        return;
      case 'channel.count':
        if (this.joined.has(frame.channel)) this.channels.get(frame.channel)?.deliverMemberCount(frame.count);
        return;
      case 'presence.changed':
        return this.presenceWatch.changed(frame.status);
      case 'token.willExpire':
        return this.emit('TokenPrivilegeWillExpire');
      default:
        return;
    }
  }

  /** The channel object for `channelId` (one per id and client). Throws INVALID_ARGUMENT. */
  createChannel(channelId: string): RtmChannel {
    const id = checkId(channelId, 'channelId');
    let channel = this.channels.get(id);
    if (!channel) {
      channel = new RtmChannel(id, this.channelHost);
      this.channels.set(id, channel);
    }
    return channel;
  }

  // ---- the link ---------------------------------------------------------------------------

  /** The chart's `openOutbox`: the link is up and the session restored (R4.4); queued requests leave. */
  private linkReady(): void {
    this.pending.linkUp();
    this.reportRecoveryWhenReplayed();
  }

  /**
   * A login or resume was granted. A grant from a server whose history is another (new epoch,
   * R11.2) resets every sequence baseline, so that its messages are not taken for duplicates.
   * Every grant but a login's first starts a recovery report (R11.1).
   */
  private granted(grant: SessionGrant, how: { fresh: boolean; sessionExpired: boolean }): void {
    this.pending.paceSends(grant.sendRatePerSecond);
    this.serverClockOffset = grant.serverTime - Date.now();
    const newEpoch = this.epoch !== null && grant.epoch !== this.epoch;
    this.epoch = grant.epoch;
    if (newEpoch) this.seen.newEpoch();
    else if (how.fresh) this.seen.resetPeer();
    const dropped = newEpoch || how.fresh ? 0 : Math.max(0, grant.inboxDropped - this.inboxDroppedSeen);
    this.inboxDroppedSeen = grant.inboxDropped;
    this.emitRecovery(); // one still waiting for rejoins that a new cut interrupted
    if (how.fresh) return;
    const session = newEpoch ? 'NEW_EPOCH' : how.sessionExpired ? 'PRESENCE_EXPIRED' : 'RESUMED';
    const silent = this.connectionState === ConnectionState.CONNECTED;
    this.recovery = new RecoveryCollector(session, silent, [...this.joined], dropped);
    for (const truncation of grant.recovery?.channels ?? []) this.recovery.channelTruncated(truncation.channel, truncation);
    this.refreshPresenceWatch();
  }

  /**
   * The replay of a grant follows it in the same WebSocket message, and so do the replays of
   * the rejoins after their answers: once those are read (a microtask later), the report is whole.
   */
  private reportRecoveryWhenReplayed(): void {
    const recovery = this.recovery;
    if (!recovery) return;
    const rejoins = this.restoring;
    this.restoring = [];
    void Promise.allSettled(rejoins).then(() => {
      if (this.recovery === recovery) this.emitRecovery();
    });
  }

  private emitRecovery(): void {
    const recovery = this.recovery;
    if (!recovery) return;
    this.recovery = null;
    this.emit('Recovered', recovery.report());
  }

  /** R4.4: the server forgot the presence session; rejoin the app's channels and re-send attributes. */
  private restoreSession(): void {
    for (const channel of this.joined) {
      const rejoin = this.pending
        .request(
          { t: 'channel.join', channel, lastSeq: this.seen.channelSeq(channel) ?? 0 },
          {
            urgent: true,
            onAnswer: (response) => {
              const result = response.ok ? JoinResult.safeParse(response.data) : undefined;
              const truncation = result?.success ? result.data.recovery : undefined;
              if (truncation) this.recovery?.channelTruncated(channel, truncation);
            },
          },
        )
        .catch(() => undefined); // ALREADY_JOINED: the server had kept us; nothing to restore
      this.restoring.push(rejoin);
    }
    if (this.attributes) {
      this.pending.request({ t: 'attrs.set', attrs: this.attributes }, { urgent: true }).catch(() => undefined);
    }
  }

  private route(frame: ServerFrame): void {
    switch (frame.t) {
      case 'res':
        return this.pending.settle(frame);
      case 'peer.msg':
        return this.deliverPeerMessage(frame);
      case 'channel.msg':
        return this.deliverChannelMessage(frame);
      case 'channel.member':
        if (this.joined.has(frame.channel)) this.channels.get(frame.channel)?.deliverMemberChange(frame);
        return;
      case 'peer.dropped':
        return this.emit('PeerMessageDropped', { peerId: frame.to, messageId: frame.msgId, reason: frame.reason });
      default:
        return this.routeAgora(frame);
    }
  }

  private deliverPeerMessage(frame: PeerMessageFrame): void {
    const fresh = this.seen.acceptPeer(frame);
    this.scheduleAck();
    if (!fresh) return;
    if (frame.offline) this.recovery?.peerDelivered();
    this.emit('MessageFromPeer', decodeMessage(frame), frame.from, {
      serverReceivedTs: frame.ts,
      isOfflineMessage: frame.offline,
      isHistoricalMessage: false,
    });
  }

  private deliverChannelMessage(frame: ChannelMessageFrame): void {
    const channel = this.channels.get(frame.channel);
    if (!channel || !this.joined.has(frame.channel)) return;
    // Without a history position from the join, a replay could reach back before the join.
    const joinedAt = this.joinedAt.get(frame.channel);
    if (frame.historical && joinedAt !== undefined && frame.ts < joinedAt) return;
    if (!this.seen.acceptChannel(frame)) return;
    if (frame.historical) this.recovery?.channelDelivered(frame.channel);
    channel.deliverMessage(frame);
  }

  /** One cumulative ack per burst of peer messages (R5.2). */
  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(() => {
      this.ackScheduled = false;
      this.socket.transmit({ t: 'peer.ack', seq: this.seen.lastPeerSeq });
    });
  }

  // ---- state --------------------------------------------------------------------------------

  private stateChanged(state: ConnectionState, reason: ConnectionChangeReason): void {
    if (state === ConnectionState.DISCONNECTED || state === ConnectionState.ABORTED) {
      const ended = reason === ConnectionChangeReason.LOGOUT || state === ConnectionState.ABORTED;
      this.pending.failAll(
        ended ? RtmErrorCode.LOGGED_OUT : RtmErrorCode.NOT_LOGGED_IN,
        ended ? `the connection ended (${reason})` : `login failed (${reason})`,
      );
      this.joined.clear();
      this.joinedAt.clear();
      this.attributes = null;
      this.presenceWatch.clear();
      this.recovery = null;
      this.restoring = [];
    }
    this.emit('ConnectionStateChanged', state, reason);
    const pending = this.pendingLogin;
    if (!pending) return;
    if (state === ConnectionState.CONNECTED) {
      this.pendingLogin = null;
      pending.resolve();
    } else if (state === ConnectionState.DISCONNECTED || state === ConnectionState.ABORTED) {
      this.pendingLogin = null;
      pending.reject(this.loginError(reason));
    }
  }

  private loginError(reason: ConnectionChangeReason): RtmError {
    switch (reason) {
      case ConnectionChangeReason.LOGIN_TIMEOUT:
        return new RtmError(RtmErrorCode.TIMEOUT, 'login timed out');
      case ConnectionChangeReason.LOGOUT:
        return new RtmError(RtmErrorCode.LOGGED_OUT, 'logout() was called before the login finished');
      default: {
        const code = (this.actor.getSnapshot().context.rejection ?? RtmErrorCode.REJECTED) as RtmErrorCode;
        return new RtmError(code, `login refused by the server (${code})`);
      }
    }
  }

  private ensureLoggedIn(): void {
    const state = this.connectionState;
    if (state === ConnectionState.DISCONNECTED || state === ConnectionState.ABORTED) {
      throw new RtmError(RtmErrorCode.NOT_LOGGED_IN, `not logged in (${state})`);
    }
  }

  private parse<T>(schema: { safeParse(data: unknown): { success: true; data: T } | { success: false } }, data: unknown, what: string): T {
    const result = schema.safeParse(data);
    if (!result.success) throw new RtmError(RtmErrorCode.INTERNAL, `malformed answer to ${what}`);
    return result.data;
  }

  private serverNow(): number {
    return Date.now() + this.serverClockOffset;
  }

  private newMessageId(): string {
    const bytes = new Uint8Array(6);
    globalThis.crypto.getRandomValues(bytes);
    const random = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${random}-${(this.messageCounter++).toString(36)}`;
  }
}

export type { RequestBody };
