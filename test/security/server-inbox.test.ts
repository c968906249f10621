/**
 * Issue 12.6: offline messages are bounded in bytes, one sender cannot squat an inbox, and a
 * sender's offline messages to users who are not logged in are bounded in total. Every refusal
 * is MESSAGE_DROPPED with a message that starts with INBOX_FULL, never silent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PEER_MESSAGE_OVERHEAD_BYTES } from '../../src/server/store/store.js';
import { Harness, type Frame, type RawClient } from '../server/helpers.js';
import { startBystanders } from './server-bystanders.js';

const h = new Harness();
afterEach(() => h.cleanup());

const KIB = 1024;

function sendOffline(client: RawClient, to: string, msgId: string, text: string): Promise<Frame> {
  return client.request({ t: 'peer.send', msgId, to, text, offline: true });
}

describe('12.6 offline messages have byte bounds', () => {
  it('12.6 a recipient inbox is bounded in bytes: the send beyond gets MESSAGE_DROPPED "INBOX_FULL"', async () => {
    const server = await h.server({ limits: { inboxMaxBytes: 64 * KIB } });
    const others = await startBystanders(h, server);
    const mallory = await h.login(server, 'mallory');
    const text = 'x'.repeat(8 * KIB);
    const fits = Math.floor((64 * KIB) / (8 * KIB + PEER_MESSAGE_OVERHEAD_BYTES));
    const answers: Frame[] = [];
    for (let i = 0; i < fits + 3; i++) answers.push(await sendOffline(mallory.client, 'ghost', `m${i}`, text));
    expect(answers.slice(0, fits).every((a) => a.ok)).toBe(true);
    for (const refused of answers.slice(fits)) {
      expect(refused).toMatchObject({ ok: false, code: 'MESSAGE_DROPPED' });
      expect(refused.message).toMatch(/^INBOX_FULL: the inbox of ghost is full/);
    }
    // The messages kept are all delivered when the recipient comes.
    const ghost = await h.login(server, 'ghost');
    await ghost.client.collect((f) => f.t === 'peer.msg', fits);
    await others.verify();
  });

  it('12.6 one sender cannot squat an inbox: its share is bounded, other senders still get in', async () => {
    const server = await h.server({ limits: { inboxMaxMessages: 20, inboxMaxMessagesPerSender: 5 } });
    const others = await startBystanders(h, server);
    const mallory = await h.login(server, 'mallory');
    const dave = await h.login(server, 'dave');
    const answers: Frame[] = [];
    for (let i = 0; i < 20; i++) answers.push(await sendOffline(mallory.client, 'victim', `m${i}`, `spam ${i}`));
    expect(answers.filter((a) => a.ok)).toHaveLength(5);
    const refused = answers.filter((a) => !a.ok);
    expect(refused).toHaveLength(15);
    expect(refused.every((a) => a.code === 'MESSAGE_DROPPED' && /^INBOX_FULL: you already hold the most one sender may/.test(a.message))).toBe(true);
    // Before the fix every other sender's message was MESSAGE_DROPPED for 24 h.
    expect(await sendOffline(dave.client, 'victim', 'hello', 'hello victim')).toMatchObject({ ok: true });
    const victim = await h.login(server, 'victim');
    const got = await victim.client.collect((f) => f.t === 'peer.msg', 6);
    expect(got.map((f) => f.from)).toEqual(['mallory', 'mallory', 'mallory', 'mallory', 'mallory', 'dave']);
    await others.verify();
  });

  it('12.6 a sender\'s offline bytes over recipients who are not logged in are bounded in total', async () => {
    const allowance = 32 * KIB;
    const server = await h.server({ limits: { offlineMaxBytesPerSender: allowance } });
    const others = await startBystanders(h, server);
    const mallory = await h.login(server, 'mallory');
    const text = 'y'.repeat(4 * KIB);
    const fits = Math.floor(allowance / (4 * KIB + PEER_MESSAGE_OVERHEAD_BYTES));
    const answers: Frame[] = [];
    // Each to a different never-seen uid: no per-inbox bound is near.
    for (let i = 0; i < fits + 5; i++) answers.push(await sendOffline(mallory.client, `ghost${i}`, `g${i}`, text));
    expect(answers.slice(0, fits).every((a) => a.ok)).toBe(true);
    for (const refused of answers.slice(fits)) {
      expect(refused).toMatchObject({ ok: false, code: 'MESSAGE_DROPPED' });
      expect(refused.message).toMatch(/^INBOX_FULL: your offline messages waiting for users who are not logged in/);
    }
    // A recipient who is logged in does not count against it.
    const carol = await h.login(server, 'carol');
    expect(await sendOffline(mallory.client, 'carol', 'c1', text)).toMatchObject({ ok: true });
    await carol.client.next((f) => f.t === 'peer.msg' && f.msgId === 'c1');
    // Once a recipient logs in and acknowledges, the allowance is free again.
    const ghost0 = await h.login(server, 'ghost0');
    const first = await ghost0.client.next((f) => f.t === 'peer.msg' && f.msgId === 'g0');
    ghost0.client.send({ t: 'peer.ack', seq: first.seq });
    await ghost0.client.ok({ t: 'presence.query', uids: ['ghost0'] });
    expect(await sendOffline(mallory.client, 'ghost-late', 'late', text)).toMatchObject({ ok: true });
    await others.verify();
  });
});
