/** HS256 login tokens (R1.3): signature, subject and expiry checks. */
import { describe, expect, it } from 'vitest';
import { createToken, verifyToken } from '../../src/server/index.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens', () => {
  it('R1.3 a fresh token verifies for its uid and carries the expiry', () => {
    const now = 1_700_000_000_000;
    const token = createToken('secret', 'alice', { expiresInSeconds: 60 }, now);
    expect(verifyToken('secret', token, 'alice', now)).toEqual({ ok: true, expiresAt: now + 60_000 });
    const [header, payload] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toMatchObject({ sub: 'alice', exp: now / 1000 + 60 });
  });

  it('R1.3 expiry is exact, fractions of a second included: TOKEN_EXPIRED from exp on', () => {
    const now = 1_700_000_000_000;
    const token = createToken('secret', 'alice', { expiresInSeconds: 0.25 }, now);
    expect(verifyToken('secret', token, 'alice', now + 249).ok).toBe(true);
    expect(verifyToken('secret', token, 'alice', now + 250)).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
  });

  it('R1.3 another uid, another secret, a tampered payload or another algorithm is INVALID_TOKEN', () => {
    const token = createToken('secret', 'alice');
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ sub: 'alice', exp: Date.now() / 1000 + 1e6 })}.${signature}`;
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${token.split('.')[1]}.`;
    const hs512 = `${b64({ alg: 'HS512', typ: 'JWT' })}.${token.split('.').slice(1).join('.')}`;
    for (const [bad, uid, secret] of [
      [token, 'bob', 'secret'],
      [token, 'alice', 'other'],
      [forged, 'alice', 'secret'],
      [none, 'alice', 'secret'],
      [hs512, 'alice', 'secret'],
      ['a.b', 'alice', 'secret'],
      ['', 'alice', 'secret'],
    ] as const) {
      expect(verifyToken(secret, bad, uid), `${bad} for ${uid}`).toMatchObject({ ok: false, code: 'INVALID_TOKEN' });
    }
  });

  it('R1.3 a signed token without an expiry or with a non-object payload is INVALID_TOKEN', async () => {
    const { createHmac } = await import('node:crypto');
    const sign = (payload: string) => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${payload}`;
      return `${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}`;
    };
    expect(verifyToken('secret', sign(b64({ sub: 'alice' })), 'alice')).toMatchObject({ code: 'INVALID_TOKEN' });
    expect(verifyToken('secret', sign(b64('alice')), 'alice')).toMatchObject({ code: 'INVALID_TOKEN' });
    expect(verifyToken('secret', sign('%%%'), 'alice')).toMatchObject({ code: 'INVALID_TOKEN' });
  });
});
