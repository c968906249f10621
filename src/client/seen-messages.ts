/**
 * What the client has already received, so that a resume starts where it left off and a
 * replayed or re-sent message is delivered once (R5.1–R5.4). Peer messages are numbered per
 * inbox, channel messages per channel; a sequence at or below the last one seen is a duplicate.
 * Message ids are remembered too (a bounded number), for what sequence numbers cannot tell: a
 * fresh login whose inbox numbering is unknown, and a server with a new history (epoch, R11.2)
 * that numbers from 1 again and may carry a retry of a message the old one had delivered.
 */
import type { ChannelMessageFrame, PeerMessageFrame } from '../protocol/client.js';
import type { ResumePoint } from './link.js';

/** Ids remembered per kind: between this and twice this many, the most recent. */
const REMEMBERED_IDS = 2048;

/**
 * A bounded memory of recent ids in two generations: a full current generation becomes the
 * previous one and the oldest is forgotten whole. No per-message eviction (an iterator and a
 * delete on every message, once full), which showed in the profile of a process holding 2000
 * clients.
 */
class RecentIds {
  private current = new Set<string>();
  private previous = new Set<string>();

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id);
  }

  add(id: string): void {
    if (this.current.size >= REMEMBERED_IDS) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(id);
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }
}

/** The last sequence seen per stream (the peer inbox, each channel) and the ids seen recently. */
export class SeenMessages {
  private peerSeq = 0;
  private readonly channelSeqs = new Map<string, number>();
  private readonly recentPeerIds = new RecentIds();
  private readonly recentChannelIds = new RecentIds();

  /** True when the peer message is new; records it. */
  acceptPeer(frame: PeerMessageFrame): boolean {
    const key = `${frame.from}\n${frame.msgId}`;
    if (frame.seq <= this.peerSeq || this.recentPeerIds.has(key)) {
      this.peerSeq = Math.max(this.peerSeq, frame.seq);
      return false;
    }
    this.peerSeq = frame.seq;
    this.recentPeerIds.add(key);
    return true;
  }

  /** True when the channel message is new; records it. */
  acceptChannel(frame: ChannelMessageFrame): boolean {
    const last = this.channelSeqs.get(frame.channel);
    if (last !== undefined && frame.seq <= last) return false;
    this.channelSeqs.set(frame.channel, frame.seq);
    const key = `${frame.channel}\n${frame.from}\n${frame.msgId}`;
    if (this.recentChannelIds.has(key)) return false;
    this.recentChannelIds.add(key);
    return true;
  }

  get lastPeerSeq(): number {
    return this.peerSeq;
  }

  channelSeq(channel: string): number | undefined {
    return this.channelSeqs.get(channel);
  }

  /** A join told us where the channel's history stood: nothing at or before it is ours. */
  channelJoined(channel: string, seq: number | undefined): void {
    const last = this.channelSeqs.get(channel);
    if (seq !== undefined && (last === undefined || seq > last)) this.channelSeqs.set(channel, seq);
  }

  /**
   * The server's history is not the one these sequences count in (a restart, R11.2): every
   * sequence starts again; the remembered ids stay, to catch a message both histories carry.
   */
  newEpoch(): void {
    this.peerSeq = 0;
    this.channelSeqs.clear();
  }

  channelLeft(channel: string): void {
    this.channelSeqs.delete(channel);
  }

  /** A fresh login starts a new inbox numbering. */
  resetPeer(): void {
    this.peerSeq = 0;
  }

  reset(): void {
    this.peerSeq = 0;
    this.channelSeqs.clear();
    this.recentPeerIds.clear();
    this.recentChannelIds.clear();
  }

  resumePoint(joined: Iterable<string>): ResumePoint {
    const channels: ResumePoint['channels'] = [];
    for (const channel of joined) channels.push({ channel, seq: this.channelSeqs.get(channel) ?? 0 });
    return { peerSeq: this.peerSeq, channels };
  }
}

