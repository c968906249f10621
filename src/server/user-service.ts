/** Presence queries and user attributes (R4.1, R4.4). */
import type { ClientFrameOf, AttributesResult, PresenceResult } from '../protocol/index.js';
import type { ServerContext } from './context.js';
import type { LocalSession } from './local-session.js';

export class UserService {
  constructor(private readonly ctx: ServerContext) {}

  /** Online = a live session, attached or still within its presence window (R4.1). */
  async presence(frame: ClientFrameOf<'presence.query'>): Promise<PresenceResult> {
    const online = await this.ctx.store.areOnline(frame.uids);
    return { status: frame.uids.map((uid, i) => [uid, online[i] ?? false]) };
  }

  /** Replaces the whole set; dropped when the session ends (R4.4: the client re-sends them). */
  async setAttributes(session: LocalSession, frame: ClientFrameOf<'attrs.set'>): Promise<void> {
    // Last value wins for a repeated key; a Map keeps user keys off any prototype.
    const unique = new Map(frame.attrs.map(([key, value]) => [key, value] as const));
    await this.ctx.store.setAttributes(session.uid, [...unique]);
  }

  async getAttributes(frame: ClientFrameOf<'attrs.get'>): Promise<AttributesResult> {
    return { attrs: await this.ctx.store.getAttributes(frame.uid) };
  }
}
