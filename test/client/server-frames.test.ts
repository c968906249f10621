/**
 * R8: the client reads every server frame through the protocol's own checks (server-frames.ts),
 * which keep only the keys a frame names and reject a frame that breaks the protocol, naming
 * where; a server that breaks it is a lost link (socket.ts).
 */
import { describe, expect, it } from 'vitest';
import { decodeServerFrame, SessionGrant, JoinResult } from '../../src/protocol/index.js';

const grant = {
  sessionId: 's1',
  sessionExpired: false,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 2000,
  serverTime: 5,
  epoch: 'e1',
  sendRatePerSecond: 60,
  inboxDropped: 0,
};

describe('R8 reading server frames', () => {
  it('R8 each kind of server frame is read, and keys it does not name are dropped', () => {
    const frames = [
      { t: 'res', id: 1, ok: true, data: { any: 'thing' } },
      { t: 'res', id: 2, ok: false, code: 'TIMEOUT', message: 'late' },
      { t: 'pong' },
      { t: 'channel.member', channel: 'room', uid: 'bob', joined: true },
      { t: 'peer.dropped', msgId: 'm1', to: 'bob', reason: 'EXPIRED' },
      { t: 'kick', reason: 'REMOTE_LOGIN' },
      { t: 'error', code: 'INVALID_ARGUMENT', message: 'bad' },
      { t: 'channel.attrs', channel: 'room', attrs: [['k', 'v', 'bob', 3]] },
      { t: 'channel.count', channel: 'room', count: 4 },
      { t: 'presence.changed', status: [['bob', 'UNREACHABLE']] },
      { t: 'token.willExpire' },
      { t: 'peer.msg', seq: 1, msgId: 'm', from: 'a', text: 'x', raw: 'AAAA', ts: 1, offline: true },
    ];
    for (const frame of frames) {
      expect(decodeServerFrame(JSON.stringify({ ...frame, extra: 1 })), frame.t).toEqual({ ok: true, frame });
    }
  });

  it('R8 a frame that breaks the protocol is refused with the path of its fault', () => {
    const refused = (frame: unknown) => decodeServerFrame(JSON.stringify(frame));
    expect(refused({ t: 'nope' })).toEqual({ ok: false, message: 'invalid frame at t: unknown t' });
    expect(refused({ t: 'res', id: 1, ok: 'yes' })).toEqual({ ok: false, message: 'invalid frame at ok: unknown ok' });
    expect(refused({ t: 'res', id: -1, ok: true })).toMatchObject({ ok: false, message: expect.stringContaining('at id') });
    expect(refused({ t: 'kick', reason: 'BORED' })).toMatchObject({ ok: false, message: expect.stringContaining('at reason') });
    expect(refused({ t: 'channel.attrs', channel: 'room', attrs: [['k', 'v', 'bob']] })).toMatchObject({
      ok: false,
      message: expect.stringContaining('at attrs.0'),
    });
    expect(refused({ t: 'presence.changed', status: [['has space', 'ONLINE']] })).toMatchObject({
      ok: false,
      message: expect.stringContaining('at status.0.0'),
    });
    expect(refused({ t: 'channel.count', channel: 'room', count: 1.5 }).ok).toBe(false);
    expect(refused([]).ok).toBe(false);
    expect(refused(null).ok).toBe(false);
    expect(refused({ t: 'constructor' }).ok).toBe(false);
    expect(refused({ t: '__proto__' }).ok).toBe(false);
  });

  it('R8 R11 the answers the client reads: a grant and a join, optional parts included', () => {
    expect(SessionGrant.safeParse(grant)).toEqual({ success: true, data: grant });
    const withRecovery = { ...grant, recovery: { channels: [{ channel: 'r', replayed: 2, skipped: 1, truncatedBy: 'REPLAY_CAP' }] } };
    expect(SessionGrant.parse(withRecovery)).toEqual(withRecovery);
    expect(SessionGrant.safeParse({ ...grant, heartbeatIntervalMs: 0 }).success).toBe(false);
    expect(SessionGrant.safeParse({ ...grant, sendRatePerSecond: Number.NaN }).success).toBe(false);
    expect(SessionGrant.safeParse({ ...grant, epoch: '' }).success).toBe(false);
    expect(() => SessionGrant.parse({ ...grant, recovery: { channels: [{ channel: 'r', replayed: 1, skipped: 0, truncatedBy: 'X' }] } })).toThrow(
      /recovery\.channels\.0\.truncatedBy/,
    );
    expect(JoinResult.parse({ members: ['a'] })).toEqual({ members: ['a'] });
    expect(JoinResult.parse({ members: [], seq: 3, epoch: 'e', recovery: { replayed: 0, skipped: 0, truncatedBy: null } })).toEqual({
      members: [],
      seq: 3,
      epoch: 'e',
      recovery: { replayed: 0, skipped: 0, truncatedBy: null },
    });
    expect(JoinResult.safeParse({ members: 'a' }).success).toBe(false);
  });
});
