/**
 * TokenPrivilegeWillExpire (issue 14.2): `tokenWillExpireNoticeMs` before the token a session
 * presented (at login, resume or `token.renew`) expires, its socket is sent `token.willExpire`.
 * A session that presented no token (anonymous login) is never told. A notice due while the link
 * is down is sent by the resume, which arms the timer again (already due: at once).
 */
import { encodeFrame } from '../protocol/index.js';
import type { ServerContext } from './context.js';
import type { LocalSession } from './local-session.js';

const NOTICE = Buffer.from(encodeFrame({ t: 'token.willExpire' }));
/** setTimeout's largest delay; a token expiring later is re-armed when it gets that close. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TokenNotices {
  private readonly timers = new Map<LocalSession, ReturnType<typeof setTimeout>>();

  constructor(private readonly ctx: ServerContext) {}

  /** The session's current token expires at `expiresAt` (ms), or never (null). */
  arm(session: LocalSession, expiresAt: number | null): void {
    this.disarm(session);
    if (expiresAt === null || session.ended) return;
    const dueIn = expiresAt - this.ctx.config.limits.tokenWillExpireNoticeMs - Date.now();
    const timer = setTimeout(
      () => {
        this.timers.delete(session);
        if (dueIn > MAX_TIMER_MS) return this.arm(session, expiresAt);
        if (!session.ended) session.connection?.sendEncoded(NOTICE);
      },
      Math.max(0, Math.min(dueIn, MAX_TIMER_MS)),
    );
    timer.unref?.();
    this.timers.set(session, timer);
  }

  disarm(session: LocalSession): void {
    const timer = this.timers.get(session);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(session);
  }

  /** Server shutdown. */
  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
