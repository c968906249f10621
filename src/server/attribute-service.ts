/**
 * Agora RTM 1.x attribute calls (issue 14.2): the user's own attributes changed key by key, and
 * channel attributes. Channel attributes need no membership, as in Agora RTM; every change
 * stamps who made it and when, and with `notify` the channel's members are sent all of the
 * channel's attributes as they now are (AttributesUpdated).
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import {
  MAX_ATTRIBUTES,
  MAX_CHANNEL_ATTRIBUTES,
  encodeFrame,
  type AttributesResult,
  type ChannelAttributeEntry,
  type ChannelAttributesResult,
  type ClientFrameOf,
} from '../protocol/index.js';
import type { ServerContext } from './context.js';
import type { LocalSession } from './local-session.js';
import type { StoredChannelAttribute } from './store/store.js';

type ChannelAttributeChangeFrame = ClientFrameOf<
  'channel.attrs.set' | 'channel.attrs.update' | 'channel.attrs.delete' | 'channel.attrs.clear'
>;

export class AttributeService {
  constructor(private readonly ctx: ServerContext) {}

  // ---- the user's own attributes ----

  /** addOrUpdateLocalUserAttributes: the named keys are set, the others kept. */
  async updateUserAttributes(session: LocalSession, frame: ClientFrameOf<'attrs.update'>): Promise<void> {
    await this.changeUser(session, { set: lastValueWins(frame.attrs), remove: [] });
  }

  /** deleteLocalUserAttributesByKeys. */
  async deleteUserAttributes(session: LocalSession, frame: ClientFrameOf<'attrs.delete'>): Promise<void> {
    await this.changeUser(session, { set: [], remove: frame.keys });
  }

  /** getUserAttributesByKeys: the asked keys the user has. */
  async getUserAttributesByKeys(frame: ClientFrameOf<'attrs.getKeys'>): Promise<AttributesResult> {
    const keys = new Set(frame.keys);
    return { attrs: (await this.ctx.store.getAttributes(frame.uid)).filter(([key]) => keys.has(key)) };
  }

  private async changeUser(
    session: LocalSession,
    change: { set: Array<[string, string]>; remove: readonly string[] },
  ): Promise<void> {
    if (!(await this.ctx.store.updateAttributes(session.uid, change, MAX_ATTRIBUTES))) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `a user has at most ${MAX_ATTRIBUTES} attributes`);
    }
  }

  // ---- channel attributes ----

  async changeChannel(session: LocalSession, frame: ChannelAttributeChangeFrame): Promise<void> {
    const change = {
      clear: frame.t === 'channel.attrs.set' || frame.t === 'channel.attrs.clear',
      remove: frame.t === 'channel.attrs.delete' ? frame.keys : [],
      set: frame.t === 'channel.attrs.set' || frame.t === 'channel.attrs.update' ? lastValueWins(frame.attrs) : [],
      by: session.uid,
      ts: Date.now(),
    };
    const attributes = await this.ctx.store.changeChannelAttributes(frame.channel, change, MAX_CHANNEL_ATTRIBUTES);
    if (!attributes) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `a channel has at most ${MAX_CHANNEL_ATTRIBUTES} attributes`);
    }
    if (!frame.notify) return;
    // To the members on every node (the node bus hands it back to this one's `notifyLocalMembers`).
    const payload = encodeFrame({ t: 'channel.attrs', channel: frame.channel, attrs: attributes.map(toEntry) });
    this.ctx.bus.notice({ t: 'channel.attrs', channel: frame.channel, frame: payload });
  }

  async getChannel(frame: ClientFrameOf<'channel.attrs.get'>): Promise<ChannelAttributesResult> {
    const all = await this.ctx.store.getChannelAttributes(frame.channel);
    const keys = frame.keys ? new Set(frame.keys) : null;
    return { attrs: (keys ? all.filter((attribute) => keys.has(attribute.key)) : all).map(toEntry) };
  }
}

/** A key given twice keeps its last value, as a record built from the pairs would. */
function lastValueWins(pairs: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  return [...new Map(pairs.map(([key, value]) => [key, value] as const))];
}

function toEntry(attribute: StoredChannelAttribute): ChannelAttributeEntry {
  return [attribute.key, attribute.value, attribute.by, attribute.ts];
}
