/**
 * Channel member counts (issue 14.2): `getChannelMemberCount` answers from the store, and each
 * channel with members on this node announces its count (MemberCountUpdated) after a change, at
 * most once per `memberCountIntervalMs` (three times that above `memberEventsMaxMembers`), as
 * Agora RTM does. Changes within one interval coalesce into one notice of the latest count; a
 * count that came back to the one last announced is not announced again.
 */
import { encodeFrame, type ClientFrameOf, type MemberCountResult } from '../protocol/index.js';
import type { ChannelService } from './channel-service.js';
import type { ServerContext } from './context.js';
import { SharedFrame } from './ws-frame.js';

/** Above memberEventsMaxMembers, counts are announced this many times less often. */
const LARGE_CHANNEL_FACTOR = 3;

export class MemberCounts {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** The count last announced, per channel. */
  private readonly announced = new Map<string, number>();
  private channels: ChannelService | null = null;
  private stopped = false;

  constructor(private readonly ctx: ServerContext) {}

  /** Set once the channel service exists (it tells this one of every membership change). */
  attach(channels: ChannelService): void {
    this.channels = channels;
  }

  async query(frame: ClientFrameOf<'channel.counts'>): Promise<MemberCountResult> {
    const counts = await Promise.all(frame.channels.map((channel) => this.ctx.store.channelMemberCount(channel)));
    return { counts: frame.channels.map((channel, i) => [channel, counts[i] ?? 0]) };
  }

  /** A join or leave reached the store. */
  readonly changed = (channel: string): void => {
    if (this.stopped || this.timers.has(channel)) return;
    // The next turn: the changes of one burst (a join and its replay) make one notice.
    this.timers.set(channel, setTimeout(() => void this.announce(channel), 0));
  };

  private async announce(channel: string): Promise<void> {
    try {
      const count = await this.ctx.store.channelMemberCount(channel);
      if (this.stopped) return;
      const { memberCountIntervalMs, memberEventsMaxMembers } = this.ctx.config.limits;
      // The interval starts now: changes until it ends wait for the next notice.
      const quiet = count > memberEventsMaxMembers ? memberCountIntervalMs * LARGE_CHANNEL_FACTOR : memberCountIntervalMs;
      this.timers.set(channel, setTimeout(() => this.endInterval(channel, count), quiet));
      if (count === this.announced.get(channel)) return;
      this.announced.set(channel, count);
      if (count === 0) this.announced.delete(channel);
      const payload = new SharedFrame(Buffer.from(encodeFrame({ t: 'channel.count', channel, count })));
      this.channels?.notifyLocalMembers(channel, payload);
    } catch (error) {
      this.timers.delete(channel);
      this.ctx.logger.log('error', 'member_count.failed', { channel, error: String(error) });
    }
  }

  /** The quiet interval after a notice ended: announce again if the count moved meanwhile. */
  private endInterval(channel: string, announcedCount: number): void {
    this.timers.delete(channel);
    if (this.stopped) return;
    void this.ctx.store.channelMemberCount(channel).then(
      (count) => {
        if (count !== announcedCount) this.changed(channel);
      },
      (error: unknown) => this.ctx.logger.log('error', 'member_count.failed', { channel, error: String(error) }),
    );
  }

  /** Server shutdown. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
