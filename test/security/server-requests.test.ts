/**
 * Issue 12 (request floods) and 11.8 (the limiter belongs to the uid, on the monotonic clock):
 * every request kind has a per-user budget (TOO_OFTEN beyond it), a user's channels are bounded
 * (EXCEED_LIMIT), logging in again continues the same budget, and a wall-clock step refills
 * nothing. Bystanders keep talking throughout.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_LOGIN_ATTEMPTS_PER_SOCKET } from '../../src/server/frame-handler.js';
import { MemoryStore } from '../../src/server/index.js';
import { RateLimitRegistry } from '../../src/server/rate-limit.js';
import { Harness, type Frame, type RawClient } from '../server/helpers.js';
import { startBystanders } from './server-bystanders.js';

const h = new Harness();
afterEach(async () => {
  vi.restoreAllMocks();
  await h.cleanup();
});

/** Sends every frame in one WebSocket message and resolves with their answers, in order. */
async function burst(client: RawClient, frames: Frame[], firstId: number): Promise<Frame[]> {
  client.sendRaw(frames.map((frame, i) => JSON.stringify({ ...frame, id: firstId + i })).join('\n'));
  return Promise.all(frames.map((_, i) => client.next((f) => f.t === 'res' && f.id === firstId + i, 10_000)));
}

const okCount = (answers: Frame[]) => answers.filter((a) => a.ok).length;

describe('12 every request kind is rate limited', () => {
  it('12 1000 join/leave pairs in one message: joins and leaves beyond the budget get TOO_OFTEN, member events stay few', async () => {
    const rate = 20;
    const server = await h.server({ limits: { membershipRateLimitPerSecond: rate } });
    const others = await startBystanders(h, server);
    const watcher = await h.loginInRoom(server, 'watcher', 'busy');
    const mallory = await h.login(server, 'mallory');
    const frames: Frame[] = [];
    for (let i = 0; i < 1000; i++) frames.push({ t: 'channel.join', channel: 'busy' }, { t: 'channel.leave', channel: 'busy' });
    const started = performance.now();
    const answers = await burst(mallory.client, frames, 1000);
    const seconds = (performance.now() - started) / 1000;
    const refused = answers.filter((a) => !a.ok);
    // A refused join makes the next leave NOT_JOINED (and a refused leave the next join ALREADY_JOINED).
    expect(refused.every((a) => ['TOO_OFTEN', 'NOT_JOINED', 'ALREADY_JOINED'].includes(a.code))).toBe(true);
    expect(refused.filter((a) => a.code === 'TOO_OFTEN').length).toBeGreaterThan(1900);
    // The bucket holds `rate` and refills `rate` a second.
    expect(okCount(answers)).toBeLessThanOrEqual(rate + Math.ceil(seconds * rate) + 1);
    await watcher.client.ok({ t: 'channel.members', channel: 'busy' });
    expect(watcher.client.all((f) => f.t === 'channel.member').length).toBeLessThanOrEqual(rate + Math.ceil(seconds * rate) + 1);
    await others.verify();
  });

  it('12 presence, attribute, member, count and subscription requests share a per-user budget: TOO_OFTEN beyond it', async () => {
    const rate = 10;
    const server = await h.server({ limits: { queryRateLimitPerSecond: rate } });
    const others = await startBystanders(h, server);
    const mallory = await h.loginInRoom(server, 'mallory', 'room');
    const kinds: Frame[] = [
      { t: 'presence.query', uids: ['mallory'] },
      { t: 'attrs.set', attrs: [['k', 'v']] },
      { t: 'attrs.get', uid: 'mallory' },
      { t: 'channel.members', channel: 'room' },
      // The Agora RTM 1.x layer's requests (14.2) share it.
      { t: 'attrs.getKeys', uid: 'mallory', keys: ['k'] },
      { t: 'channel.attrs.get', channel: 'room' },
      { t: 'channel.counts', channels: ['room'] },
      { t: 'presence.subscribe', uids: ['bystander-a'] },
    ];
    for (const [k, kind] of kinds.entries()) {
      const started = performance.now();
      const answers = await burst(mallory.client, Array.from({ length: 200 }, () => kind), 10_000 * (k + 1));
      const seconds = (performance.now() - started) / 1000;
      expect(answers.filter((a) => !a.ok).every((a) => a.code === 'TOO_OFTEN'), kind.t).toBe(true);
      expect(okCount(answers), kind.t).toBeLessThanOrEqual(rate + Math.ceil(seconds * rate) + 1);
      expect(okCount(answers), kind.t).toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 1000 + 100)); // refill for the next kind
    }
    await others.verify();
  });

  it(`12 login and resume: at most ${MAX_LOGIN_ATTEMPTS_PER_SOCKET} per socket, then TOO_OFTEN`, async () => {
    const server = await h.server();
    const others = await startBystanders(h, server);
    const prober = await h.connect(server);
    const frames = Array.from({ length: 50 }, (_, i) => ({ t: 'login', v: 1, uid: `victim${i}`, token: 'not.a.token' }));
    const answers = await burst(prober, frames, 1);
    expect(answers.slice(0, MAX_LOGIN_ATTEMPTS_PER_SOCKET).every((a) => a.code === 'INVALID_TOKEN')).toBe(true);
    expect(answers.slice(MAX_LOGIN_ATTEMPTS_PER_SOCKET).every((a) => a.code === 'TOO_OFTEN')).toBe(true);
    await others.verify();
  });
});

describe('12 each user has a channel limit', () => {
  it('12 a join beyond maxChannelsPerUser gets EXCEED_LIMIT; leaving one makes room', async () => {
    const server = await h.server({ limits: { maxChannelsPerUser: 3 } });
    const others = await startBystanders(h, server);
    const mallory = await h.login(server, 'mallory');
    for (const channel of ['c1', 'c2', 'c3']) await mallory.client.ok({ t: 'channel.join', channel });
    const refused = await mallory.client.request({ t: 'channel.join', channel: 'c4' });
    expect(refused).toMatchObject({ ok: false, code: 'EXCEED_LIMIT' });
    expect(refused.message).toMatch(/3 channels/);
    // A channel already joined is still ALREADY_JOINED, not EXCEED_LIMIT.
    expect(await mallory.client.request({ t: 'channel.join', channel: 'c1' })).toMatchObject({ ok: false, code: 'ALREADY_JOINED' });
    await mallory.client.ok({ t: 'channel.leave', channel: 'c2' });
    await mallory.client.ok({ t: 'channel.join', channel: 'c4' });
    await others.verify();
  });

  it('12 joining and leaving many channels leaves nothing behind in the store', async () => {
    const store = new MemoryStore();
    const server = await h.server({ store, limits: { membershipRateLimitPerSecond: 0 } });
    const others = await startBystanders(h, server);
    const mallory = await h.login(server, 'mallory');
    const frames: Frame[] = [];
    for (let i = 0; i < 500; i++) frames.push({ t: 'channel.join', channel: `x${i}` }, { t: 'channel.leave', channel: `x${i}` });
    expect((await burst(mallory.client, frames, 1)).every((a) => a.ok)).toBe(true);
    // Internal on purpose: nothing observable from outside tells an empty channel from a forgotten one.
    expect((store as unknown as { channels: Map<string, unknown> }).channels.size).toBe(0);
    await others.verify();
    await store.close();
  });
});

describe('11.8 the limiter belongs to the uid and reads the monotonic clock', () => {
  it('11.8 logging in again does not refill the send budget', async () => {
    const rate = 10;
    const server = await h.server({ limits: { rateLimitPerSecond: rate } });
    const others = await startBystanders(h, server);
    const started = performance.now();
    let accepted = 0;
    for (let round = 0; round < 6; round++) {
      // Each login ends the previous session (REMOTE_LOGIN) and opens a new one.
      const mallory = await h.login(server, 'mallory');
      const sends = Array.from({ length: 30 }, (_, i) => ({ t: 'peer.send', msgId: `r${round}-${i}`, to: 'nobody', text: 'x', offline: false }));
      const answers = await burst(mallory.client, sends, 1);
      expect(answers.filter((a) => !a.ok).every((a) => a.code === 'TOO_OFTEN')).toBe(true);
      accepted += okCount(answers);
    }
    const seconds = (performance.now() - started) / 1000;
    // One bucket for the uid: `rate` at first, `rate` a second after. A bucket per session gave 6 × rate.
    expect(accepted).toBeLessThanOrEqual(rate + Math.ceil(seconds * rate) + 1);
    expect(accepted).toBeLessThan(6 * rate);
    await others.verify();
  });

  it('11.8 a +10 s wall-clock step refills no budget', async () => {
    const server = await h.server({ limits: { rateLimitPerSecond: 5 } });
    const others = await startBystanders(h, server);
    const mallory = await h.login(server, 'mallory');
    const send = (i: number) => ({ t: 'peer.send', msgId: `s${i}`, to: 'nobody', text: 'x', offline: false });
    const drained = await burst(mallory.client, Array.from({ length: 10 }, (_, i) => send(i)), 1);
    expect(okCount(drained)).toBeLessThanOrEqual(6);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 10_000);
    const after = await burst(mallory.client, Array.from({ length: 10 }, (_, i) => send(100 + i)), 100);
    // A wall-clock bucket would see 10 s pass and be full again (5 more accepted).
    expect(okCount(after)).toBeLessThanOrEqual(1);
    await others.verify();
  });

  it('11.8 a user\'s budget is kept while its session lives, and forgotten only once it has refilled', () => {
    const registry = new RateLimitRegistry({ send: 10, membership: 10, query: 10 });
    const now = performance.now();
    const alice = registry.of('alice');
    for (let i = 0; i < 10; i++) expect(alice.take('send')).toBe(true);
    expect(registry.of('alice').take('send')).toBe(false);
    registry.sweep(() => false, now + 500);
    expect(registry.size).toBe(1); // half refilled: forgetting it would hand out a full bucket
    registry.sweep(() => true, now + 5000);
    expect(registry.size).toBe(1); // in use by a session
    registry.sweep(() => false, now + 5000);
    expect(registry.size).toBe(0); // full again: a fresh one is the same
  });
});
