/**
 * Channels (R4.3, R5.3, R5.4): membership, member events, fan-out and replay of missed history.
 *
 * The hot path is `send`: one store append, one JSON encoding and one Buffer per message, then
 * a loop over this node's members that only queues that shared Buffer on each socket. A replay
 * reuses the encoding too: after an outage every member that comes back asks for the same
 * recent messages, and each is encoded (flagged historical) once, not once per member.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import { encodeFrame, type ClientFrameOf } from '../protocol/index.js';
import type { JoinAnswer, Replay } from './connection.js';
import type { ServerContext } from './context.js';
import { checkMessageSize, rememberedSend, takeSendToken } from './guards.js';
import type { LocalSession } from './local-session.js';
import type { StoredChannelMessage } from './store/store.js';
import { SharedFrame } from './ws-frame.js';

/** Replay frames kept per channel, in multiples of channelReplayMax (the most a replay carries). */
const REPLAY_CACHE_FACTOR = 2;

export class ChannelService {
  /** This node's sessions in each channel, for fan-out without asking the store. */
  private readonly local = new Map<string, Set<LocalSession>>();
  /**
   * Per channel with members on this node, the replay frames already encoded, by seq (a seq
   * names one stored message of a channel for good). Oldest entries go first.
   */
  private readonly replayFrames = new Map<string, Map<number, Buffer>>();

  constructor(
    private readonly ctx: ServerContext,
    /** Told after every join or leave in the store (member counts, 14.2). */
    private readonly onMembershipChanged: (channel: string) => void = () => undefined,
  ) {}

  /** Queues one shared frame on the socket of every member of `channel` on this node (14.2 notices). */
  notifyLocalMembers(channel: string, payload: SharedFrame): void {
    for (const member of this.local.get(channel) ?? []) member.connection?.deliverEvent(payload);
  }

  async join(
    session: LocalSession,
    frame: ClientFrameOf<'channel.join'>,
  ): Promise<{ data: JoinAnswer; replay?: Replay }> {
    const { channel } = frame;
    const { maxChannelsPerUser } = this.ctx.config.limits;
    if (session.channels.size >= maxChannelsPerUser && !session.channels.has(channel)) {
      throw new RtmError(RtmErrorCode.EXCEED_LIMIT, `already in ${maxChannelsPerUser} channels, the most one user may join`);
    }
    if (!(await this.ctx.store.joinChannel(channel, session.uid))) {
      throw new RtmError(RtmErrorCode.ALREADY_JOINED, `already in channel ${channel}`);
    }
    // Where the history stood at the join: nothing at or before it is the member's (a resume
    // before the first live message asks from here, not from 0). Read before the member is
    // added locally; whatever a store that answers asynchronously lets in between is sent as the
    // live messages they are, below, so none falls between the two.
    const seq = await this.ctx.store.lastChannelSeq(channel);
    await this.addLocal(channel, session);
    await this.announceMember(channel, session.uid, true);
    const [members, epoch] = await Promise.all([this.ctx.store.channelMembers(channel), this.ctx.store.epoch()]);
    const data: JoinAnswer = { members, seq, epoch };
    if (frame.lastSeq !== undefined) {
      // A rejoin after the presence window (R4.4): what was missed since the client's last seq,
      // up to the newest message (so it covers whatever raced the join too).
      const replay = await this.replay(session.uid, [{ channel, seq: frame.lastSeq }]);
      const recovery = replay.recovery[0];
      if (recovery) data.recovery = { replayed: recovery.replayed, skipped: recovery.skipped, truncatedBy: recovery.truncatedBy };
      return { data, replay };
    }
    return { data, replay: await this.raced(session.uid, channel, seq) };
  }

  /**
   * Messages stored after `seq` by the time the join has the member in place locally: with the
   * in-memory store nothing can come between (no await yields to another socket), with a store
   * that answers asynchronously they would otherwise be neither live nor replayed.
   */
  private async raced(uid: string, channel: string, seq: number): Promise<Replay> {
    const page = await this.ctx.store.channelHistory(channel, {
      afterSeq: seq,
      sinceTs: 0,
      excludeFrom: uid,
      max: this.ctx.config.limits.channelHistoryMax,
    });
    const replay: Replay = { frames: [], lastSeq: new Map(), recovery: [] };
    for (const message of page.messages) {
      replay.frames.push(Buffer.from(encodeFrame({ t: 'channel.msg', ...message, historical: false })));
    }
    if (page.messages.length > 0) replay.lastSeq.set(channel, page.messages.at(-1)!.seq);
    return replay;
  }

  async leave(session: LocalSession, channel: string): Promise<void> {
    if (!(await this.ctx.store.leaveChannel(channel, session.uid))) {
      throw new RtmError(RtmErrorCode.NOT_JOINED, `not in channel ${channel}`);
    }
    this.removeLocal(channel, session);
    await this.announceMember(channel, session.uid, false);
  }

  async members(session: LocalSession, channel: string): Promise<{ members: string[] }> {
    if (!session.channels.has(channel)) throw new RtmError(RtmErrorCode.NOT_JOINED, `not in channel ${channel}`);
    return { members: await this.ctx.store.channelMembers(channel) };
  }

  async send(session: LocalSession, frame: ClientFrameOf<'channel.send'>): Promise<void> {
    const { channel, msgId, text, raw } = frame;
    if (!session.channels.has(channel)) throw new RtmError(RtmErrorCode.NOT_JOINED, `not in channel ${channel}`);
    checkMessageSize(text, raw);
    // The rate token is taken only by a send the server has not seen: a retry costs nothing.
    const key = `c\n${session.uid}\n${msgId}`;
    await rememberedSend(this.ctx, key, async () => {
      takeSendToken(session);
      const { limits, timing } = this.ctx.config;
      const stored = await this.ctx.store.appendToChannel(
        { channel, msgId, from: session.uid, text, ...(raw === undefined ? {} : { raw }), ts: Date.now() },
        {
          maxMessages: Math.max(limits.channelHistoryMax, timing.channelReplayMax),
          maxAgeMs: timing.channelReplayWindowMs,
          // A retry whose first attempt was stored by a node that died before remembering it.
          dedup: { key, ttlMs: limits.dedupWindowMs },
        },
      );
      if (!stored.duplicate) this.ctx.bus.channelMessage(stored);
      return {};
    });
  }

  /**
   * A stored message, as the node bus hands it to this node (from any node, this one included):
   * one shared encoding queued on the socket of every local member but its sender.
   */
  fanOut(message: StoredChannelMessage): void {
    const members = this.local.get(message.channel);
    if (!members) return;
    const { channel, seq, from } = message;
    let payload: SharedFrame | undefined;
    for (const member of members) {
      if (member.uid === from) continue;
      payload ??= new SharedFrame(Buffer.from(encodeFrame({ t: 'channel.msg', ...message, historical: false })));
      member.connection?.deliver(channel, seq, payload);
    }
  }

  /** A member event, as the node bus hands it to this node: to every local member but its subject. */
  memberEvent(channel: string, uid: string, joined: boolean): void {
    const members = this.local.get(channel);
    if (!members) return;
    let payload: SharedFrame | undefined;
    for (const member of members) {
      if (member.uid === uid) continue;
      payload ??= new SharedFrame(Buffer.from(encodeFrame({ t: 'channel.member', channel, uid, joined })));
      member.connection?.deliverEvent(payload);
    }
  }

  /**
   * The messages others sent on each channel after the seq the client names, stamped within
   * channelReplayWindowMs before now, at most channelReplayMax (the most recent), in order
   * (R5.3). Channels the session is not in are skipped.
   */
  async replay(uid: string, positions: ReadonlyArray<{ channel: string; seq: number }>): Promise<Replay> {
    const { channelReplayWindowMs, channelReplayMax } = this.ctx.config.timing;
    const sinceTs = Date.now() - channelReplayWindowMs;
    const replay: Replay = { frames: [], lastSeq: new Map(), recovery: [] };
    const session = this.ctx.sessions.get(uid);
    for (const { channel, seq } of positions) {
      if (!session?.channels.has(channel)) continue;
      const page = await this.ctx.store.channelHistory(channel, {
        afterSeq: seq,
        sinceTs,
        excludeFrom: uid,
        max: channelReplayMax,
      });
      for (const message of page.messages) replay.frames.push(this.replayFrame(message));
      // Live frames at or below this seq were either replayed or deliberately left out.
      const last = page.messages.at(-1)?.seq ?? seq;
      replay.lastSeq.set(channel, last);
      replay.recovery.push({ channel, replayed: page.messages.length, skipped: page.skipped, truncatedBy: page.truncatedBy });
    }
    return replay;
  }

  /** The message as a replay frame (`historical: true`), encoded once per node while it is recent. */
  private replayFrame(message: StoredChannelMessage): Buffer {
    let frames = this.replayFrames.get(message.channel);
    if (!frames) {
      frames = new Map();
      this.replayFrames.set(message.channel, frames);
    }
    let frame = frames.get(message.seq);
    if (!frame) {
      frame = Buffer.from(encodeFrame({ t: 'channel.msg', ...message, historical: true }));
      frames.set(message.seq, frame);
      const limit = REPLAY_CACHE_FACTOR * this.ctx.config.timing.channelReplayMax;
      for (const seq of frames.keys()) {
        if (frames.size <= limit) break;
        frames.delete(seq);
      }
    }
    return frame;
  }

  /**
   * Takes the uid out of every channel in the store; the other members get MemberLeft (R4.3,
   * R7.1). Called by whoever ended the session (the store said so), on whichever node: each
   * leave is announced by the one caller the store answered "was a member".
   */
  async leaveAll(uid: string, session?: LocalSession): Promise<void> {
    const channels = new Set([...(session?.channels ?? []), ...(await this.ctx.store.channelsOf(uid))]);
    for (const channel of channels) {
      const wasMember = await this.ctx.store.leaveChannel(channel, uid);
      if (session) this.removeLocal(channel, session);
      if (wasMember) await this.announceMember(channel, uid, false);
    }
  }

  /** The session no longer fans out here (it ended, or another node ended or took it over); the store is not touched. */
  forgetLocal(session: LocalSession): void {
    for (const channel of [...session.channels]) this.removeLocal(channel, session);
  }

  /**
   * MemberJoined / MemberLeft to the other members on every node (through the node bus), unless
   * the channel, counting the subject, has more than `memberEventsMaxMembers` members. Called
   * after the store has the join or leave.
   */
  private async announceMember(channel: string, uid: string, joined: boolean): Promise<void> {
    this.onMembershipChanged(channel);
    // The other nodes' members hear the new count too, however large the channel (14.2).
    if (this.ctx.bus.spansNodes) this.ctx.bus.notice({ t: 'channel.count', channel });
    // Alone, a channel without members here has nobody to tell.
    if (!this.ctx.bus.spansNodes && !this.local.has(channel)) return;
    const count = (await this.ctx.store.channelMemberCount(channel)) + (joined ? 0 : 1);
    if (count > this.ctx.config.limits.memberEventsMaxMembers) return;
    this.ctx.bus.memberEvent(channel, uid, joined);
  }

  /** A session taken over from a shared store: its channels, as the store has them, fan out to it here. */
  async adopt(session: LocalSession): Promise<void> {
    for (const channel of await this.ctx.store.channelsOf(session.uid)) await this.addLocal(channel, session);
  }

  /** Resolves once this node hears the channel's traffic (a first member here subscribes the node bus). */
  private addLocal(channel: string, session: LocalSession): Promise<void> {
    session.joinedChannel(channel);
    let members = this.local.get(channel);
    if (!members) {
      members = new Set();
      this.local.set(channel, members);
    }
    members.add(session);
    return this.ctx.bus.watch(channel);
  }

  private removeLocal(channel: string, session: LocalSession): void {
    session.leftChannel(channel);
    const members = this.local.get(channel);
    if (!members) return;
    members.delete(session);
    if (members.size === 0) {
      this.local.delete(channel);
      this.replayFrames.delete(channel);
      this.ctx.bus.unwatch(channel);
    }
  }
}
