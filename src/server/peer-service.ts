/**
 * Peer messages (R5.1, R5.2, R5.5): every accepted message goes into the recipient's inbox with
 * the next seq and stays there until the recipient acknowledges it (cumulative ack), so a
 * message in flight when a link breaks is re-sent by the resume that names the last seq seen.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import { encodeFrame, type ClientFrameOf, type PeerSendResult } from '../protocol/index.js';
import { PEER_STREAM, type Replay } from './connection.js';
import type { ServerContext } from './context.js';
import { checkMessageSize, rememberedSend, takeSendToken } from './guards.js';
import type { LocalSession } from './local-session.js';
import type { RtmServerLimits } from './options.js';
import type { InboxRefusal, StoredPeerMessage } from './store/store.js';

export class PeerService {
  constructor(private readonly ctx: ServerContext) {}

  async send(session: LocalSession, frame: ClientFrameOf<'peer.send'>): Promise<PeerSendResult> {
    checkMessageSize(frame.text, frame.raw);
    // The rate token is taken only by a send the server has not seen: a retry costs nothing.
    const key = `p\n${session.uid}\n${frame.msgId}`;
    return rememberedSend(this.ctx, key, () => {
      takeSendToken(session);
      return this.store(session.uid, frame, key);
    });
  }

  /**
   * Kept when the recipient has a session (online or away) or is logged in with its presence
   * expired, or when the sender asked for offline storage; delivered at once when the
   * recipient's socket is attached to this node. Bounded per recipient (count, bytes), per
   * sender within one inbox (so one sender cannot fill it for every other), and per sender over
   * the inboxes of recipients not logged in (who may never come). A refusal is MESSAGE_DROPPED
   * with a message that starts with INBOX_FULL and says which bound it was.
   */
  private async store(from: string, frame: ClientFrameOf<'peer.send'>, dedupKey: string): Promise<PeerSendResult> {
    const { store, config } = this.ctx;
    const { limits } = config;
    const { to, msgId, text } = frame;
    const recipient = await store.getSession(to);
    const known = recipient !== undefined || (await store.isLoggedIn(to));
    if (!known && !frame.offline) return { hasPeerReceived: false };
    const result = await store.appendToInbox(
      { msgId, from, to, text, ...(frame.raw === undefined ? {} : { raw: frame.raw }), ts: Date.now() },
      {
        maxMessages: limits.inboxMaxMessages,
        maxAgeMs: limits.inboxMaxAgeMs,
        maxBytes: limits.inboxMaxBytes,
        maxMessagesPerSender: limits.inboxMaxMessagesPerSender,
        maxBytesPerSender: limits.inboxMaxBytesPerSender,
        ...(known ? {} : { offlineMaxBytesPerSender: limits.offlineMaxBytesPerSender }),
        // A retry whose first attempt was stored by a node that died before remembering it.
        dedup: { key: dedupKey, ttlMs: limits.dedupWindowMs },
      },
    );
    this.reportDropped(result.expired, 'EXPIRED');
    if (!result.stored) throw new RtmError(RtmErrorCode.MESSAGE_DROPPED, refusalMessage(result.reason, to, limits));
    // Live delivery: the node bus takes it to the node holding the recipient (this one, or the
    // one its session names: the inbox append published it there).
    if (!result.duplicate) this.ctx.bus.peerMessage(result.stored);
    // Received: the recipient's socket is attached, here or (as its session record says, not away)
    // on the node that holds it; an away recipient gets the message with its resume (R5.2).
    const node = recipient?.node;
    if (node !== undefined && node !== this.ctx.bus.nodeId) return { hasPeerReceived: recipient?.awaySince === undefined };
    return { hasPeerReceived: Boolean(this.ctx.sessions.get(to)?.connection) };
  }

  /** A stored message for a recipient on this node, as the node bus hands it here: to its socket, unless it had it. */
  deliverLive(message: StoredPeerMessage): void {
    const connection = this.ctx.sessions.get(message.to)?.connection;
    if (!connection || message.seq <= connection.peerSeqSent) return;
    connection.deliver(PEER_STREAM, message.seq, Buffer.from(encodeFrame(peerFrame(message, false))));
  }

  async ack(uid: string, seq: number): Promise<void> {
    await this.ctx.store.ackInbox(uid, seq);
  }

  /** Every stored message after `afterSeq`, oldest first, flagged offline (R5.1, R5.2). */
  async replay(uid: string, afterSeq: number): Promise<Replay> {
    const messages = await this.ctx.store.readInbox(uid, afterSeq);
    const replay: Replay = { frames: [], lastSeq: new Map(), recovery: [] };
    for (const message of messages) replay.frames.push(Buffer.from(encodeFrame(peerFrame(message, true))));
    replay.lastSeq.set(PEER_STREAM, messages.at(-1)?.seq ?? afterSeq);
    return replay;
  }

  /** Drops aged-out messages from every inbox and tells their senders (never silently, R5.1). */
  async expireOld(): Promise<void> {
    const dropped = await this.ctx.store.expireInboxes(Date.now(), this.ctx.config.limits.inboxMaxAgeMs);
    this.reportDropped(dropped, 'EXPIRED');
  }

  private reportDropped(messages: readonly StoredPeerMessage[], reason: 'EXPIRED' | 'INBOX_FULL'): void {
    for (const message of messages) {
      const sender = this.ctx.sessions.get(message.from)?.connection;
      sender?.sendFrame({ t: 'peer.dropped', msgId: message.msgId, to: message.to, reason });
      this.ctx.logger.log('info', 'peer.dropped', { from: message.from, to: message.to, msgId: message.msgId, reason, notified: !!sender });
    }
  }
}

function refusalMessage(reason: InboxRefusal, to: string, limits: RtmServerLimits): string {
  switch (reason) {
    case 'INBOX_FULL':
      return `INBOX_FULL: the inbox of ${to} is full (${limits.inboxMaxMessages} messages or ${limits.inboxMaxBytes} bytes)`;
    case 'SENDER_SHARE':
      return `INBOX_FULL: you already hold the most one sender may in the inbox of ${to} (${limits.inboxMaxMessagesPerSender} messages or ${limits.inboxMaxBytesPerSender} bytes)`;
    case 'OFFLINE_ALLOWANCE':
      return `INBOX_FULL: your offline messages waiting for users who are not logged in reached ${limits.offlineMaxBytesPerSender} bytes`;
  }
}

function peerFrame(message: StoredPeerMessage, offline: boolean) {
  const { seq, msgId, from, text, raw, ts } = message;
  return { t: 'peer.msg' as const, seq, msgId, from, text, ...(raw === undefined ? {} : { raw }), ts, offline };
}
