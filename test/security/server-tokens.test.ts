/**
 * Issue 12 (tokens): only canonical base64url verifies, so a signature with '=' or a space
 * inserted is INVALID_TOKEN; a lifetime that cannot make a valid token is refused at createToken.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RtmError } from '../../src/errors.js';
import { createToken, verifyToken } from '../../src/server/index.js';
import { Harness } from '../server/helpers.js';
import { startBystanders } from './server-bystanders.js';

const h = new Harness();
afterEach(() => h.cleanup());

function tamperSignature(token: string, edit: (signature: string) => string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${header}.${payload}.${edit(signature)}`;
}

describe('12 tokens are strict base64url', () => {
  it("12 a signature with '=' or a space inserted, or a non-canonical last character, is INVALID_TOKEN at login", async () => {
    const server = await h.server();
    const others = await startBystanders(h, server);
    const good = server.createToken('mallory');
    const variants = [
      tamperSignature(good, (s) => `${s}=`),
      tamperSignature(good, (s) => `${s.slice(0, 10)}=${s.slice(10)}`),
      tamperSignature(good, (s) => `${s.slice(0, 10)} ${s.slice(10)}`),
      tamperSignature(good, (s) => `${s} `),
      // 43 characters carry 258 bits for 256: a last character with its two spare bits set decodes the same.
      tamperSignature(good, (s) => s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) ^ 1)),
      `${good.split('.')[0]}.${good.split('.')[1]}=.${good.split('.')[2]}`,
    ];
    for (const [i, token] of variants.entries()) {
      const client = await h.connect(server);
      const res = await client.request({ t: 'login', v: 1, uid: 'mallory', token });
      expect(res, `variant ${i}`).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
      client.close();
    }
    const client = await h.connect(server);
    expect(await client.request({ t: 'login', v: 1, uid: 'mallory', token: good })).toMatchObject({ ok: true });
    expect(verifyToken('s', tamperSignature(createToken('s', 'u'), (s) => `${s}==`), 'u')).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
    await others.verify();
  });

  it('12 createToken refuses an infinite or NaN lifetime with RtmError INVALID_ARGUMENT', async () => {
    const server = await h.server();
    const others = await startBystanders(h, server);
    for (const expiresInSeconds of [Infinity, -Infinity, NaN]) {
      for (const make of [() => server.createToken('mallory', { expiresInSeconds }), () => createToken('s', 'mallory', { expiresInSeconds })]) {
        let thrown: unknown;
        try {
          make();
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(RtmError);
        expect(thrown).toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    }
    // Finite lifetimes, fractions and already-expired ones included, still work.
    expect(verifyToken('s', createToken('s', 'u', { expiresInSeconds: 0.5 }), 'u').ok).toBe(true);
    expect(verifyToken('s', createToken('s', 'u', { expiresInSeconds: -1 }), 'u')).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
    await others.verify();
  });
});
