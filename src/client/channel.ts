/**
 * A channel the application can join (API.md `client.createChannel`). Membership, message
 * replay and rejoining after the presence window (R4.4) are handled by the client; the channel
 * object carries the app's calls and events.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import { JoinResult, MembersResult, type ChannelMessageFrame, type ResponseFrame, type ServerFrame } from '../protocol/client.js';
import { TypedEmitter } from './emitter.js';
import type { Answer, RequestBody } from './pending-requests.js';
import type { ChannelAttributes } from './attributes.js';
import { decodeMessage, encodeMessage } from './messages.js';
import type { MessageProps, ReceivedMessage, RtmMessage } from './types.js';

export interface RtmChannelEvents {
  ChannelMessage: (message: ReceivedMessage, memberId: string, props: MessageProps) => void;
  MemberJoined: (memberId: string) => void;
  MemberLeft: (memberId: string) => void;
  /** The channel's attributes changed, with notification asked for: all of them as they now are (14.2). */
  AttributesUpdated: (attributes: ChannelAttributes) => void;
  /** The channel's member count: on joining, then after changes (at most once a second), 14.2. */
  MemberCountUpdated: (memberCount: number) => void;
}

/** What a channel needs from its client. */
export interface ChannelHost {
  request(body: RequestBody, options?: { onAnswer?: (response: ResponseFrame) => void }): Promise<Answer>;
  /** Throws NOT_LOGGED_IN when there is no login. */
  ensureLoggedIn(): void;
  isJoined(channelId: string): boolean;
  markJoined(channelId: string, historySeq: number | undefined, epoch?: string): void;
  markLeft(channelId: string): void;
  newMessageId(): string;
}

export class RtmChannel extends TypedEmitter<RtmChannelEvents> {
  private joining = false;
  /** The member count last reported (MemberCountUpdated reports changes only). */
  private memberCount: number | null = null;

  /** @internal Created by `RtmClient.createChannel`. */
  constructor(
    readonly channelId: string,
    private readonly host: ChannelHost,
  ) {
    super();
  }

  get joined(): boolean {
    return this.host.isJoined(this.channelId);
  }

  /** Joins the channel; resolves with the current members (ALREADY_JOINED if joined). */
  async join(): Promise<void> {
    this.host.ensureLoggedIn();
    if (this.joining || this.joined) throw new RtmError(RtmErrorCode.ALREADY_JOINED, `already joined ${this.channelId}`);
    this.joining = true;
    this.memberCount = null;
    try {
      // Joined as the answer is read: live messages and member events may follow it in the
      // same WebSocket message, and they are this member's (R5.3).
      await this.host.request(
        { t: 'channel.join', channel: this.channelId },
        {
          onAnswer: (response) => {
            if (!response.ok) return;
            const result = JoinResult.safeParse(response.data);
            this.host.markJoined(this.channelId, result.success ? result.data.seq : undefined, result.success ? result.data.epoch : undefined);
            if (result.success) this.deliverMemberCount(result.data.members.length);
          },
        },
      );
    } catch (error) {
      // A join that was in flight when the link broke and got through the first time.
      if (error instanceof RtmError && error.code === RtmErrorCode.ALREADY_JOINED && this.wasRetried(error)) {
        this.host.markJoined(this.channelId, undefined);
        return;
      }
      throw error;
    } finally {
      this.joining = false;
    }
  }

  async leave(): Promise<void> {
    this.host.ensureLoggedIn();
    if (!this.joined) throw new RtmError(RtmErrorCode.NOT_JOINED, `not a member of ${this.channelId}`);
    try {
      await this.host.request({ t: 'channel.leave', channel: this.channelId });
    } catch (error) {
      if (!(error instanceof RtmError && error.code === RtmErrorCode.NOT_JOINED && this.wasRetried(error))) throw error;
    }
    this.host.markLeft(this.channelId);
  }

  async sendMessage(message: RtmMessage): Promise<void> {
    const encoded = encodeMessage(message);
    this.host.ensureLoggedIn();
    if (!this.joined) throw new RtmError(RtmErrorCode.NOT_JOINED, `join ${this.channelId} before sending to it`);
    await this.host.request({ t: 'channel.send', msgId: this.host.newMessageId(), channel: this.channelId, ...encoded });
  }

  async getMembers(): Promise<string[]> {
    this.host.ensureLoggedIn();
    if (!this.joined) throw new RtmError(RtmErrorCode.NOT_JOINED, `not a member of ${this.channelId}`);
    const answer = await this.host.request({ t: 'channel.members', channel: this.channelId });
    const result = MembersResult.safeParse(answer.data);
    if (!result.success) throw new RtmError(RtmErrorCode.INTERNAL, 'malformed channel.members answer');
    return result.data.members;
  }

  /** @internal A message for this channel, already de-duplicated by the client. */
  deliverMessage(frame: ChannelMessageFrame): void {
    this.emit('ChannelMessage', decodeMessage(frame), frame.from, {
      serverReceivedTs: frame.ts,
      isOfflineMessage: false,
      isHistoricalMessage: frame.historical,
    });
  }

  /** @internal */
  deliverMemberChange(frame: Extract<ServerFrame, { t: 'channel.member' }>): void {
    if (frame.joined) this.emit('MemberJoined', frame.uid);
    else this.emit('MemberLeft', frame.uid);
  }

  /** @internal 14.2 */
  deliverAttributes(attributes: ChannelAttributes): void {
    this.emit('AttributesUpdated', attributes);
  }

  /** @internal 14.2: reported when it differs from the count last reported. */
  deliverMemberCount(count: number): void {
    if (count === this.memberCount) return;
    this.memberCount = count;
    this.emit('MemberCountUpdated', count);
  }

  private wasRetried(error: RtmError): boolean {
    return (error as RtmError & { resent?: boolean }).resent === true;
  }
}
