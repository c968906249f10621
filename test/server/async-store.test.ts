/**
 * The server over a store that answers asynchronously (as a shared store does): the races a
 * synchronous store never shows. Each test opens a window with one slow answer and sends into it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { delayedStore } from './delayed-store.js';
import { Harness, testTiming, until, type Frame } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('R11.8 a store that answers asynchronously', () => {
  it('R4.3 R6.1 a login racing the presence expiry is answered, every time', async () => {
    // isBanned answers 80 ms late: a login that takes the uid's lock just before the presence
    // window ends is still inside it when the window ends.
    const server = await h.server({ store: delayedStore({ seed: 3, slowAnswers: { isBanned: 80 } }) });
    const users = Array.from({ length: 12 }, (_, i) => `racer-${i}`);
    const answers = await Promise.all(
      users.map(async (uid, i) => {
        const first = await h.login(server, uid);
        first.client.terminate();
        await until(async () => !first.client.ws || first.client.isClosed);
        // Around the end of the presence window, a spread of offsets before and after it.
        await sleep(testTiming.presenceTimeoutMs - 70 + i * 6);
        const again = await h.connect(server);
        return again.request({ t: 'login', v: 1, uid, token: server.createToken(uid) }, 4000);
      }),
    );
    expect(answers.map((res) => res.ok)).toEqual(users.map(() => true));
  });

  it('R4.2 R4.4 a resume racing the presence expiry is resumed or renewed, never kicked as a login elsewhere', async () => {
    const server = await h.server({ store: delayedStore({ seed: 5, slowAnswers: { isBanned: 80 } }) });
    const users = Array.from({ length: 12 }, (_, i) => `resumer-${i}`);
    const outcomes = await Promise.all(
      users.map(async (uid, i) => {
        const first = await h.login(server, uid);
        first.client.terminate();
        await sleep(testTiming.presenceTimeoutMs - 70 + i * 6);
        const { client, res } = await h.resume(server, uid, first.grant.sessionId as string);
        const kicked = client.all((f: Frame) => f.t === 'kick').length > 0;
        return { ok: res.ok === true, kicked };
      }),
    );
    expect(outcomes).toEqual(users.map(() => ({ ok: true, kicked: false })));
  });
});
