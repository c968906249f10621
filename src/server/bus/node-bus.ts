/**
 * The node bus: what one server node tells the others, one typed message per intent. The
 * services hand it what they stored or decided; each node delivers only to its own sockets, so
 * nothing reaches a socket twice.
 *
 * - Channel messages and member events reach the channel's members on every node.
 * - A stored peer message reaches the node holding its recipient.
 * - Control messages (a kick, a claim) go to one named node and must not be lost.
 * - Notices (a watched user's online state, channel attributes or membership changed) reach every node, for
 *   whoever there watches; a lost one costs nothing lasting, since a client asks again after
 *   every reconnect.
 *
 * With one node (the in-memory default) `LocalBus` hands everything straight back to this node's
 * listener, synchronously, so the memory mode pays one function call. `RedisBus`
 * (`redis-bus.ts`, loaded only with `redis`) carries them through Redis.
 */
import type { PeerOnlineState } from '../../protocol/index.js';
import type { StoredChannelMessage, StoredPeerMessage } from '../store/store.js';

/** What every node tells its own watchers (14.2): fire and forget. */
export type Notice =
  /** A user's online state changed: the sessions subscribed to it hear it (PeersOnlineStatusChanged). */
  | { t: 'presence'; uid: string; state: PeerOnlineState }
  /** A channel's attributes changed and notification was asked: its members hear `frame` (AttributesUpdated). */
  | { t: 'channel.attrs'; channel: string; frame: string }
  /** A channel's membership changed: each node with members there announces the count (MemberCountUpdated). */
  | { t: 'channel.count'; channel: string };

/** What must reach one node for sure (a per-node control stream with Redis). */
export type ControlMessage =
  /** The session was ended elsewhere (a login on another node, a ban): kick its socket here. */
  | { t: 'kick'; uid: string; sessionId: string; reason: 'REMOTE_LOGIN' | 'BANNED_BY_SERVER' }
  /** Another node resumed the session: let it go here without a word to the client (it left). */
  | { t: 'claimed'; uid: string; sessionId: string };

/** A session whose node died, found by the sweeper once its presence window ran out. */
export interface OrphanedSession {
  uid: string;
  sessionId: string;
  generation: number;
}

/** This node's side: what the bus delivers here (each call reaches this node's sockets only). */
export interface BusListener {
  channelMessage(message: StoredChannelMessage): void;
  memberEvent(channel: string, uid: string, joined: boolean): void;
  peerMessage(message: StoredPeerMessage): void;
  control(message: ControlMessage): void;
  notice(notice: Notice): void;
  /** This node holds the sweeper lease and found a dead node's session past its presence window: end it. */
  orphanExpired(session: OrphanedSession): Promise<void>;
  /** This node lost the shared store for longer than the bound (true), or has it back (false). */
  fenced(fenced: boolean): void;
  /**
   * The shared store holds another history than it did (Redis came back empty: a new epoch,
   * R11.2): no session, membership or seq this node holds names anything in it any more.
   */
  historyReset(): void;
}

export interface NodeBus {
  /** This node's id in the cluster; undefined for a node that is alone (LocalBus). */
  readonly nodeId: string | undefined;
  /** True when other nodes may hold members of a channel (member events must be sent even with no local member). */
  readonly spansNodes: boolean;
  /** Starts delivering to `listener` (called once, when the services exist). */
  start(listener: BusListener): Promise<void>;
  /** A channel message the store has just stamped. */
  channelMessage(message: StoredChannelMessage): void;
  /** A join or leave the store has just decided (it answered that the membership changed). */
  memberEvent(channel: string, uid: string, joined: boolean): void;
  /** A peer message the store has just put in its recipient's inbox. */
  peerMessage(message: StoredPeerMessage): void;
  /** A notice for the watchers on every node, this one included. */
  notice(notice: Notice): void;
  /** Sends a control message to `node`; resolves once it cannot be lost any more. */
  control(node: string, message: ControlMessage): Promise<void>;
  /** This node has a first member in `channel`: its traffic must reach this node from now on. */
  watch(channel: string): Promise<void>;
  /** This node's last member left `channel`. */
  unwatch(channel: string): void;
  close(): Promise<void>;
}

const DONE = Promise.resolve();

/** One node alone: everything goes straight back to this node's listener. */
export class LocalBus implements NodeBus {
  readonly nodeId = undefined;
  readonly spansNodes = false;
  private listener: BusListener | null = null;

  start(listener: BusListener): Promise<void> {
    this.listener = listener;
    return DONE;
  }

  channelMessage(message: StoredChannelMessage): void {
    this.listener?.channelMessage(message);
  }

  memberEvent(channel: string, uid: string, joined: boolean): void {
    this.listener?.memberEvent(channel, uid, joined);
  }

  peerMessage(message: StoredPeerMessage): void {
    this.listener?.peerMessage(message);
  }

  notice(notice: Notice): void {
    this.listener?.notice(notice);
  }

  control(_node: string, message: ControlMessage): Promise<void> {
    this.listener?.control(message);
    return DONE;
  }

  watch(): Promise<void> {
    return DONE;
  }

  unwatch(): void {}

  close(): Promise<void> {
    this.listener = null;
    return DONE;
  }
}
