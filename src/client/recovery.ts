/**
 * The recovery report (R11.1): after every reconnect, silent or from RECONNECTING, the app is
 * told once what came back — per joined channel and for the peer inbox, how many messages the
 * replay delivered and whether that was everything missed, or what cut it short.
 *
 * The client counts what it delivered itself; the server says what it could not send (the
 * replay cap and window per channel, the inbox's drop counter) and which history it speaks for
 * (the epoch). A report is assembled from the grant, the answers to the rejoins of a restore
 * (R4.4), and the replayed frames that follow them.
 */
import type { ChannelRecovery } from '../protocol/client.js';

/** What cut a replay short. */
export type RecoveryLoss =
  /** More were missed than a channel replay carries (channelReplayMax, R5.3). */
  | 'REPLAY_CAP'
  /** Some were sent longer ago than the replay window (channelReplayWindowMs, R5.3). */
  | 'REPLAY_WINDOW'
  /** Peer messages meant for this user were refused or aged out by the inbox's bounds (R5.1). */
  | 'INBOX_BOUND'
  /** The server's history is not the one the client knew (a restart of an in-memory server): what it had is gone. */
  | 'NEW_EPOCH';

export interface StreamRecovery {
  /** Messages this recovery delivered (flagged isOfflineMessage / isHistoricalMessage). */
  replayed: number;
  /** True when everything missed was delivered. */
  complete: boolean;
  /** How many were missed and not delivered; null when nobody can know (a new epoch). */
  lost: number | null;
  /** Why it is not complete; null when it is. */
  reason: RecoveryLoss | null;
}

export interface ChannelRecoveryReport extends StreamRecovery {
  channelId: string;
}

export interface RecoveryReport {
  /**
   * What the server had kept: the session itself (`RESUMED`); the user, but not its presence,
   * which had run out (`PRESENCE_EXPIRED`: channels were rejoined, R4.4); or nothing, because
   * its history is another (`NEW_EPOCH`, R11.2).
   */
  session: 'RESUMED' | 'PRESENCE_EXPIRED' | 'NEW_EPOCH';
  /** The link came back within the grace period, with no state change (R3.1). */
  silent: boolean;
  peer: StreamRecovery;
  channels: ChannelRecoveryReport[];
}

type Truncation = Pick<ChannelRecovery, 'skipped' | 'truncatedBy'>;

/** One reconnect's report while it is being put together. */
export class RecoveryCollector {
  private peerReplayed = 0;
  private readonly channelReplayed = new Map<string, number>();
  private readonly truncations = new Map<string, Truncation>();

  constructor(
    private readonly session: RecoveryReport['session'],
    private readonly silent: boolean,
    private readonly channelIds: readonly string[],
    /** Peer messages the inbox dropped since the last grant (same epoch). */
    private readonly peerDropped: number,
  ) {}

  peerDelivered(): void {
    this.peerReplayed++;
  }

  channelDelivered(channelId: string): void {
    this.channelReplayed.set(channelId, (this.channelReplayed.get(channelId) ?? 0) + 1);
  }

  /** What the server said its replay of a channel left out. */
  channelTruncated(channelId: string, truncation: Truncation): void {
    if (truncation.skipped > 0) this.truncations.set(channelId, truncation);
  }

  report(): RecoveryReport {
    const newEpoch = this.session === 'NEW_EPOCH';
    const peer: StreamRecovery = newEpoch
      ? { replayed: this.peerReplayed, complete: false, lost: null, reason: 'NEW_EPOCH' }
      : this.peerDropped > 0
        ? { replayed: this.peerReplayed, complete: false, lost: this.peerDropped, reason: 'INBOX_BOUND' }
        : { replayed: this.peerReplayed, complete: true, lost: 0, reason: null };
    const channels = this.channelIds.map((channelId): ChannelRecoveryReport => {
      const replayed = this.channelReplayed.get(channelId) ?? 0;
      if (newEpoch) return { channelId, replayed, complete: false, lost: null, reason: 'NEW_EPOCH' };
      const truncation = this.truncations.get(channelId);
      if (truncation?.truncatedBy) {
        return { channelId, replayed, complete: false, lost: truncation.skipped, reason: truncation.truncatedBy };
      }
      return { channelId, replayed, complete: true, lost: 0, reason: null };
    });
    return { session: this.session, silent: this.silent, peer, channels };
  }
}
