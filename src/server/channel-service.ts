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
    this.addLocal(channel, session);
    await this.announceMember(channel, session, true);
    const members = await this.ctx.store.channelMembers(channel);
    const data: JoinAnswer = { members, seq, epoch: await this.ctx.store.epoch() };
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
    await this.announceMember(channel, session, false);
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
    await rememberedSend(this.ctx, `c\n${session.uid}\n${msgId}`, async () => {
      takeSendToken(session);
      const { limits, timing } = this.ctx.config;
      const stored = await this.ctx.store.appendToChannel(
        { channel, msgId, from: session.uid, text, ...(raw === undefined ? {} : { raw }), ts: Date.now() },
        { maxMessages: Math.max(limits.channelHistoryMax, timing.channelReplayMax), maxAgeMs: timing.channelReplayWindowMs },
      );
      this.fanOut(stored, session);
      return {};
    });
  }

  /**
   * Queues one shared encoding of the message on every other local member's socket.
   * (Several nodes: members attached elsewhere would get it through a pub/sub channel here.)
   */
  private fanOut(message: StoredChannelMessage, sender: LocalSession): void {
    const members = this.local.get(message.channel);
    if (!members || members.size < 2) return;
    const payload = new SharedFrame(Buffer.from(encodeFrame({ t: 'channel.msg', ...message, historical: false })));
    const { channel, seq } = message;
    for (const member of members) {
      if (member !== sender) member.connection?.deliver(channel, seq, payload);
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

  /** Takes the session out of every channel; the other members get MemberLeft (R4.3, R7.1). */
  async leaveAll(session: LocalSession): Promise<void> {
    const channels = new Set([...session.channels, ...(await this.ctx.store.channelsOf(session.uid))]);
    for (const channel of channels) {
      const wasMember = await this.ctx.store.leaveChannel(channel, session.uid);
      this.removeLocal(channel, session);
      if (wasMember) await this.announceMember(channel, session, false);
    }
  }

  /**
   * MemberJoined / MemberLeft to this node's other members (several nodes: also via pub/sub),
   * unless the channel, counting the subject, has more than `memberEventsMaxMembers` members.
   * Called after the store has the join or leave.
   */
  private async announceMember(channel: string, subject: LocalSession, joined: boolean): Promise<void> {
    this.onMembershipChanged(channel);
    const members = this.local.get(channel);
    if (!members) return;
    const count = (await this.ctx.store.channelMemberCount(channel)) + (joined ? 0 : 1);
    if (count > this.ctx.config.limits.memberEventsMaxMembers) return;
    const payload = new SharedFrame(Buffer.from(encodeFrame({ t: 'channel.member', channel, uid: subject.uid, joined })));
    for (const member of members) {
      if (member !== subject) member.connection?.deliverEvent(payload);
    }
  }

  /** A session taken over from a shared store: its channels, as the store has them, fan out to it here. */
  async adopt(session: LocalSession): Promise<void> {
    for (const channel of await this.ctx.store.channelsOf(session.uid)) this.addLocal(channel, session);
  }

  private addLocal(channel: string, session: LocalSession): void {
    session.joinedChannel(channel);
    let members = this.local.get(channel);
    if (!members) {
      members = new Set();
      this.local.set(channel, members);
    }
    members.add(session);
  }

  private removeLocal(channel: string, session: LocalSession): void {
    session.leftChannel(channel);
    const members = this.local.get(channel);
    if (!members) return;
    members.delete(session);
    if (members.size === 0) {
      this.local.delete(channel);
      this.replayFrames.delete(channel);
    }
  }
}
