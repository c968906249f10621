/** Checks shared by the message services (R8) and the retry de-duplication (R5.5). */
import { RtmError, RtmErrorCode, isRtmError } from '../errors.js';
import { MAX_MESSAGE_BYTES, MAX_RAW_MESSAGE_BYTES, utf8Length } from '../protocol/index.js';
import type { ServerContext } from './context.js';
import type { SendOutcome } from './store/store.js';

export function checkText(text: string): void {
  // A UTF-8 character is at most 4 bytes: short texts need no byte count.
  if (text.length * 4 > MAX_MESSAGE_BYTES && utf8Length(text) > MAX_MESSAGE_BYTES) {
    throw new RtmError(RtmErrorCode.INVALID_MESSAGE, `message text is larger than ${MAX_MESSAGE_BYTES} bytes`);
  }
}

/**
 * Takes one of the user's send tokens, or refuses with TOO_OFTEN (R8). Called inside
 * `rememberedSend`'s send, so that a retry the server remembers takes none (issue 11.2).
 */
export function takeSendToken(session: { limits: { send: { take(): boolean } } }): void {
  if (!session.limits.send.take()) throw new RtmError(RtmErrorCode.TOO_OFTEN, 'sending too often');
}

/**
 * A text message, or a raw one (14.2): its bytes (base64 on the wire) and its description (in
 * `text`) together at most 32 KiB.
 */
export function checkMessageSize(text: string, raw: string | undefined): void {
  if (raw === undefined) return checkText(text);
  if (raw.length % 4 !== 0) throw new RtmError(RtmErrorCode.INVALID_MESSAGE, 'raw message is not base64');
  const padding = raw.endsWith('==') ? 2 : raw.endsWith('=') ? 1 : 0;
  const bytes = (raw.length / 4) * 3 - padding;
  if (bytes + utf8Length(text) > MAX_RAW_MESSAGE_BYTES) {
    throw new RtmError(RtmErrorCode.INVALID_MESSAGE, `raw message and description are larger than ${MAX_RAW_MESSAGE_BYTES} bytes`);
  }
}

/**
 * Runs a send once per de-duplication key within the window: a retry (same sender, same msgId)
 * gets the first attempt's answer, success or error, and is not delivered again. An error
 * thrown by `send` (TOO_OFTEN, INTERNAL) is not remembered: a later retry runs afresh.
 */
export async function rememberedSend<T>(ctx: ServerContext, key: string, send: () => Promise<T>): Promise<T> {
  const running = ctx.inflightSends.get(key);
  if (running) return settle(await running) as T;
  const remembered = await ctx.store.recallSend(key);
  if (remembered) return settle(remembered) as T;
  // The store lookup yielded: a retry may have started meanwhile.
  const started = ctx.inflightSends.get(key);
  if (started) return settle(await started) as T;
  const attempt = (async (): Promise<SendOutcome> => {
    try {
      return { ok: true, data: await send() };
    } catch (error) {
      if (isRtmError(error) && error.code === RtmErrorCode.MESSAGE_DROPPED) {
        return { ok: false, code: error.code, message: error.message };
      }
      throw error;
    }
  })();
  ctx.inflightSends.set(key, attempt);
  try {
    const result = await attempt;
    await ctx.store.rememberSend(key, result, ctx.config.limits.dedupWindowMs);
    return settle(result) as T;
  } finally {
    ctx.inflightSends.delete(key);
  }
}

function settle(outcome: SendOutcome): unknown {
  if (outcome.ok) return outcome.data;
  throw new RtmError(outcome.code as RtmErrorCode, outcome.message);
}
