/**
 * The SessionHost: every session actor of a node is its child, shares its actor system, and
 * reports its end through it; stopping it at shutdown leaves no presence timer behind.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionOutput } from '../../machines/session.machine.js';
import { resolveTiming } from '../../machines/timing.js';
import { LocalSession, SessionHost } from '../../src/server/local-session.js';

const timing = resolveTiming({ presenceTimeoutMs: 30_000 });

describe('SessionHost', () => {
  let ended: SessionOutput[];
  let errors: unknown[];
  let host: SessionHost;
  const open = (uid: string) => new LocalSession(uid, `${uid}-session`, { host, timing });

  beforeEach(() => {
    vi.useFakeTimers();
    ended = [];
    errors = [];
    host = new SessionHost({ inspect: undefined, onEnded: (output) => ended.push(output), onError: (error) => errors.push(error) });
  });
  afterEach(() => {
    host.stop();
    vi.useRealTimers();
  });

  it('R4.3 a hosted session away for the presence window ends with PRESENCE_EXPIRED, reported once through the host', () => {
    const alice = open('alice');
    const bob = open('bob');
    expect(alice.actor.system).toBe(bob.actor.system);
    alice.linkLost();
    vi.advanceTimersByTime(29_999);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual([{ uid: 'alice', sessionId: 'alice-session', reason: 'PRESENCE_EXPIRED' }]);
    expect(alice.actor.getSnapshot().status).toBe('done');
    expect(bob.actor.getSnapshot().value).toBe('online');
    vi.advanceTimersByTime(60_000);
    expect(ended).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('R7.1 a logout ends the hosted session at once, with its reason', () => {
    const alice = open('alice');
    void alice.end('LOGOUT');
    expect(ended).toEqual([{ uid: 'alice', sessionId: 'alice-session', reason: 'LOGOUT' }]);
  });

  it('R4.2 a resume inside the window cancels the presence timer', () => {
    const alice = open('alice');
    alice.linkLost();
    vi.advanceTimersByTime(20_000);
    alice.resumed();
    vi.advanceTimersByTime(60_000);
    expect(ended).toEqual([]);
    expect(alice.actor.getSnapshot().value).toBe('online');
  });

  it('stop() at shutdown clears every presence timer: nothing ends afterwards', () => {
    const alice = open('alice');
    const bob = open('bob');
    alice.linkLost();
    bob.linkLost();
    expect(vi.getTimerCount()).toBe(2);
    host.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(ended).toEqual([]);
  });
});
