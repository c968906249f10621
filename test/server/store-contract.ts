/**
 * The RtmStore contract. A shared store (Redis) must pass the same suite: call
 * `storeContract(name, makeStore)` from a test file with its factory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InboxBounds, RtmStore } from '../../src/server/index.js';

export function storeContract(name: string, makeStore: () => RtmStore | Promise<RtmStore>): void {
  describe(`RtmStore contract: ${name}`, () => {
    let store: RtmStore;
    afterEach(() => store?.close());
    const fresh = async () => (store = await makeStore());
    const bounds = { maxMessages: 3, maxAgeMs: 10_000 };

    it('sessions: put, get, end only the named session, remember why', async () => {
      await fresh();
      await store.putSession({ uid: 'a', sessionId: 's1', startedAt: 1 });
      expect(await store.getSession('a')).toEqual({ uid: 'a', sessionId: 's1', startedAt: 1 });
      expect(await store.endSession('a', 's1', { uid: 'a', reason: 'LOGOUT', endedAt: 1 }, 999)).toBe(false);
      expect(await store.areOnline(['a', 'b'])).toEqual([true, false]);
      await store.endSession('a', 'old', { uid: 'a', reason: 'REMOTE_LOGIN', endedAt: 2 });
      expect(await store.getSession('a')).toBeDefined();
      expect(await store.endSession('a', 's1', { uid: 'a', reason: 'LOGOUT', endedAt: 3 })).toBe(true);
      expect(await store.getSession('a')).toBeUndefined();
      expect(await store.getEndedSession('a', 's1')).toEqual({ uid: 'a', reason: 'LOGOUT', endedAt: 3 });
      expect(await store.getEndedSession('a', 'old')).toMatchObject({ reason: 'REMOTE_LOGIN' });
      expect(await store.getEndedSession('b', 's1')).toBeUndefined();
    });

    it('R12.3 putSession replaces in one step and names what it replaced; of two at once exactly one replaces the other', async () => {
      await fresh();
      expect((await store.putSession({ uid: 'a', sessionId: 's1', startedAt: 1, node: 'n1' })).replaced).toBeUndefined();
      const second = await store.putSession({ uid: 'a', sessionId: 's2', startedAt: 2, node: 'n2' });
      expect(second.replaced).toEqual({ uid: 'a', sessionId: 's1', startedAt: 1, node: 'n1' });
      expect(await store.getSession('a')).toEqual({ uid: 'a', sessionId: 's2', startedAt: 2, node: 'n2' });
      const [x, y] = await Promise.all([
        store.putSession({ uid: 'b', sessionId: 'x', startedAt: 1, node: 'n1' }),
        store.putSession({ uid: 'b', sessionId: 'y', startedAt: 1, node: 'n2' }),
      ]);
      // One of them saw the other: the node that replaced it ends it.
      expect([x.replaced?.sessionId, y.replaced?.sessionId].filter(Boolean)).toHaveLength(1);
    });

    it('R12.2 claimSession fences the node that held the session: its end is refused, the claimer\'s is not', async () => {
      await fresh();
      const { generation: first } = await store.putSession({ uid: 'a', sessionId: 's1', startedAt: 1, node: 'n1' });
      expect(await store.claimSession('a', 'other', 'n2')).toBeUndefined();
      const claim = await store.claimSession('a', 's1', 'n2');
      expect(claim).toMatchObject({ previousNode: 'n1' });
      expect(claim!.generation).toBeGreaterThan(first);
      expect(await store.getSession('a')).toMatchObject({ sessionId: 's1', node: 'n2' });
      // The old owner's presence runs out: refused, the session stays.
      expect(await store.endSession('a', 's1', { uid: 'a', reason: 'PRESENCE_EXPIRED', endedAt: 5 }, first)).toBe(false);
      expect(await store.getSession('a')).toMatchObject({ sessionId: 's1', node: 'n2' });
      expect(await store.getEndedSession('a', 's1')).toBeUndefined();
      expect(await store.endSession('a', 's1', { uid: 'a', reason: 'LOGOUT', endedAt: 6 }, claim!.generation)).toBe(true);
      expect(await store.getSession('a')).toBeUndefined();
      expect(await store.getEndedSession('a', 's1')).toMatchObject({ reason: 'LOGOUT' });
    });

    it('R5.5 R12.2 an append claims its de-dup key in the same step: a second one stores nothing and answers the first seq or refusal', async () => {
      await fresh();
      const dedup = (key: string) => ({ key, ttlMs: 60_000 });
      const first = await store.appendToChannel({ channel: 'r', msgId: 'm1', from: 'a', text: 'x', ts: 1000 }, { ...bounds, dedup: dedup('c1') });
      const again = await store.appendToChannel({ channel: 'r', msgId: 'm1', from: 'a', text: 'x', ts: 1001 }, { ...bounds, dedup: dedup('c1') });
      expect(first.duplicate).toBeUndefined();
      expect(again).toMatchObject({ seq: first.seq, ts: first.ts, duplicate: true });
      expect(await store.lastChannelSeq('r')).toBe(first.seq);
      const put = (msgId: string, key: string) =>
        store.appendToInbox({ to: 'b', msgId, from: 'x', text: msgId, ts: 1000 }, { ...bounds, maxMessages: 1, dedup: dedup(key) });
      const stored = await put('p1', 'k1');
      expect(await put('p1', 'k1')).toMatchObject({ stored: { seq: stored.stored!.seq }, duplicate: true });
      expect(await put('p2', 'k2')).toMatchObject({ stored: null, reason: 'INBOX_FULL' });
      expect(await put('p2', 'k2')).toMatchObject({ stored: null, reason: 'INBOX_FULL', duplicate: true });
      expect((await store.readInbox('b', 0)).map((m) => m.msgId)).toEqual(['p1']);
    });

    it('R12.2 markAway records since when the session is away, and only for its owner at its generation', async () => {
      await fresh();
      const { generation } = await store.putSession({ uid: 'a', sessionId: 's1', startedAt: 1, node: 'n1' });
      expect(await store.markAway('a', 's1', generation + 1, true)).toBe(false);
      expect(await store.markAway('a', 'other', generation, true)).toBe(false);
      expect((await store.getSession('a'))?.awaySince).toBeUndefined();
      expect(await store.markAway('a', 's1', generation, true)).toBe(true);
      expect((await store.getSession('a'))?.awaySince).toEqual(expect.any(Number));
      expect(await store.markAway('a', 's1', generation, false)).toBe(true);
      expect((await store.getSession('a'))?.awaySince).toBeUndefined();
    });

    it('accounts and bans', async () => {
      await fresh();
      expect(await store.isLoggedIn('a')).toBe(false);
      await store.setLoggedIn('a', true);
      expect(await store.isLoggedIn('a')).toBe(true);
      await store.setLoggedIn('a', false);
      expect(await store.isLoggedIn('a')).toBe(false);
      await store.ban('m');
      expect([await store.isBanned('m'), await store.isBanned('a')]).toEqual([true, false]);
    });

    it('inbox: increasing seq per recipient, read after seq, cumulative ack, bound by count and age', async () => {
      await fresh();
      const put = (to: string, msgId: string, ts: number) => store.appendToInbox({ to, msgId, from: 'x', text: msgId, ts }, bounds);
      expect((await put('b', 'm1', 1000)).stored?.seq).toBe(1);
      expect((await put('b', 'm2', 1001)).stored?.seq).toBe(2);
      expect((await put('c', 'n1', 1001)).stored?.seq).toBe(1);
      expect((await put('b', 'm3', 1002)).stored?.seq).toBe(3);
      expect(await put('b', 'm4', 1003)).toMatchObject({ stored: null, reason: 'INBOX_FULL' });
      expect((await store.readInbox('b', 1)).map((m) => m.msgId)).toEqual(['m2', 'm3']);
      await store.ackInbox('b', 2);
      expect((await store.readInbox('b', 0)).map((m) => m.seq)).toEqual([3]);
      const aged = await put('b', 'm5', 1002 + 10_001);
      expect(aged.expired.map((m) => m.msgId)).toEqual(['m3']);
      expect(aged.stored?.seq).toBe(4);
      await store.clearInbox('b');
      expect(await store.readInbox('b', 0)).toEqual([]);
      expect((await put('b', 'm6', 20_000)).stored?.seq).toBe(5);
      expect((await store.expireInboxes(40_000, 10_000)).map((m) => m.msgId).sort()).toEqual(['m6', 'n1']);
    });

    it('12.6 inbox byte bounds: per recipient, per sender in one inbox, and a sender\'s offline allowance over all inboxes', async () => {
      await fresh();
      // Each message counts its text's UTF-8 bytes plus PEER_MESSAGE_OVERHEAD_BYTES (128).
      const text = 'x'.repeat(872); // 1000 bytes a message
      const put = (from: string, to: string, msgId: string, extra: Partial<InboxBounds> = {}) =>
        store.appendToInbox({ to, msgId, from, text, ts: 1 }, { maxMessages: 100, maxAgeMs: 10_000, ...extra });
      expect((await put('a', 'r', '1', { maxBytes: 2000 })).stored?.seq).toBe(1);
      expect((await put('b', 'r', '2', { maxBytes: 2000 })).stored?.seq).toBe(2);
      expect(await put('c', 'r', '3', { maxBytes: 2000 })).toMatchObject({ stored: null, reason: 'INBOX_FULL' });
      expect(await put('a', 'r', '4', { maxMessagesPerSender: 1 })).toMatchObject({ stored: null, reason: 'SENDER_SHARE' });
      expect(await put('a', 'r', '5', { maxBytesPerSender: 1999 })).toMatchObject({ stored: null, reason: 'SENDER_SHARE' });
      expect((await put('c', 'r', '6', { maxMessagesPerSender: 1 })).stored?.seq).toBe(3);
      // The offline allowance counts only messages appended under it, over every inbox, and frees on ack.
      expect((await put('m', 'g1', '7', { offlineMaxBytesPerSender: 2000 })).stored).not.toBeNull();
      expect((await put('m', 'g2', '8', { offlineMaxBytesPerSender: 2000 })).stored).not.toBeNull();
      expect(await put('m', 'g3', '9', { offlineMaxBytesPerSender: 2000 })).toMatchObject({ stored: null, reason: 'OFFLINE_ALLOWANCE' });
      expect((await put('m', 'r', '10')).stored).not.toBeNull();
      await store.ackInbox('g1', 1);
      expect((await put('m', 'g3', '11', { offlineMaxBytesPerSender: 2000 })).stored).not.toBeNull();
      await store.clearInbox('g2');
      expect((await put('m', 'g4', '12', { offlineMaxBytesPerSender: 2000 })).stored).not.toBeNull();
    });

    it('send de-duplication remembers an outcome for its window', async () => {
      await fresh();
      expect(await store.recallSend('k')).toBeUndefined();
      await store.rememberSend('k', { ok: true, data: { hasPeerReceived: true } }, 60_000);
      expect(await store.recallSend('k')).toEqual({ ok: true, data: { hasPeerReceived: true } });
      await store.rememberSend('gone', { ok: false, code: 'MESSAGE_DROPPED', message: 'full' }, -1);
      expect(await store.recallSend('gone')).toBeUndefined();
    });

    it('channels: membership both ways, seq per channel, history query by seq, time, sender and count', async () => {
      await fresh();
      expect(await store.joinChannel('r', 'a')).toBe(true);
      expect(await store.joinChannel('r', 'a')).toBe(false);
      await store.joinChannel('r', 'b');
      await store.joinChannel('s', 'a');
      expect((await store.channelMembers('r')).sort()).toEqual(['a', 'b']);
      expect(await store.channelMemberCount('r')).toBe(2);
      expect(await store.channelMemberCount('nowhere')).toBe(0);
      expect((await store.channelsOf('a')).sort()).toEqual(['r', 's']);
      expect(await store.leaveChannel('s', 'a')).toBe(true);
      expect(await store.leaveChannel('s', 'a')).toBe(false);
      expect(await store.channelsOf('a')).toEqual(['r']);
      expect(await store.channelMemberCount('s')).toBe(0);
      const hb = { maxMessages: 100, maxAgeMs: 10_000 };
      for (let i = 1; i <= 6; i++) {
        const m = await store.appendToChannel({ channel: 'r', msgId: `m${i}`, from: i === 5 ? 'a' : 'b', text: '', ts: 1000 * i }, hb);
        expect(m.seq).toBe(i);
      }
      const ids = async (q: Parameters<RtmStore['channelHistory']>[1]) => (await store.channelHistory('r', q)).messages.map((m) => m.msgId);
      expect(await ids({ afterSeq: 0, sinceTs: 0, max: 100 })).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
      expect(await ids({ afterSeq: 2, sinceTs: 0, max: 2 })).toEqual(['m5', 'm6']);
      expect(await ids({ afterSeq: 0, sinceTs: 4000, max: 100, excludeFrom: 'a' })).toEqual(['m4', 'm6']);
      expect(await store.channelHistory('nowhere', { afterSeq: 0, sinceTs: 0, max: 5 })).toEqual({ messages: [], skipped: 0, truncatedBy: null });
      expect(await store.lastChannelSeq('r')).toBe(6);
      expect(await store.lastChannelSeq('nowhere')).toBe(0);
    });

    it('R11.1 channel history says what its bounds left out: by count, by age, by history already trimmed', async () => {
      await fresh();
      const hb = { maxMessages: 100, maxAgeMs: 10_000 };
      for (let i = 1; i <= 6; i++) {
        await store.appendToChannel({ channel: 'r', msgId: `m${i}`, from: i === 5 ? 'a' : 'b', text: '', ts: 1000 * i }, hb);
      }
      const page = (q: Parameters<RtmStore['channelHistory']>[1]) => store.channelHistory('r', q);
      expect(await page({ afterSeq: 0, sinceTs: 0, max: 100 })).toMatchObject({ skipped: 0, truncatedBy: null });
      // m3, m4 (m1, m2 are at or before the position; m5 is a's own and not a's loss)
      expect(await page({ afterSeq: 2, sinceTs: 0, max: 1, excludeFrom: 'a' })).toMatchObject({ skipped: 2, truncatedBy: 'REPLAY_CAP' });
      expect(await page({ afterSeq: 1, sinceTs: 3500, max: 10, excludeFrom: 'a' })).toMatchObject({ skipped: 2, truncatedBy: 'REPLAY_WINDOW' });
      expect(await page({ afterSeq: 6, sinceTs: 0, max: 10 })).toEqual({ messages: [], skipped: 0, truncatedBy: null });
      // Aged out of the store itself: an append much later trims m1–m6.
      await store.appendToChannel({ channel: 'r', msgId: 'm7', from: 'b', text: '', ts: 100_000 }, hb);
      expect(await page({ afterSeq: 4, sinceTs: 0, max: 10 })).toMatchObject({ skipped: 2, truncatedBy: 'REPLAY_WINDOW' });
    });

    it('R11.2 an epoch names the store\'s history and stays the same for its life', async () => {
      await fresh();
      const epoch = await store.epoch();
      expect(epoch).toMatch(/^.{8,64}$/);
      expect(await store.epoch()).toBe(epoch);
      const other = await makeStore();
      try {
        expect(await other.epoch()).not.toBe(epoch);
      } finally {
        await other.close();
      }
    });

    it('R11.1 counts the messages meant for a uid that were refused or aged out', async () => {
      await fresh();
      const tight = { maxMessages: 2, maxAgeMs: 10_000 };
      expect(await store.inboxDropCount('b')).toBe(0);
      for (let i = 1; i <= 3; i++) await store.appendToInbox({ msgId: `m${i}`, from: 'a', to: 'b', text: '', ts: 1000 }, tight);
      expect(await store.inboxDropCount('b')).toBe(1);
      await store.expireInboxes(50_000, 10_000);
      expect(await store.inboxDropCount('b')).toBe(3);
      expect(await store.inboxDropCount('a')).toBe(0);
    });

    it('attributes: set replaces, get copies, delete drops', async () => {
      await fresh();
      await store.setAttributes('a', [['k', 'v']]);
      const got = await store.getAttributes('a');
      got.push(['x', 'y']);
      expect(await store.getAttributes('a')).toEqual([['k', 'v']]);
      await store.setAttributes('a', [['z', '1']]);
      expect(await store.getAttributes('a')).toEqual([['z', '1']]);
      await store.deleteAttributes('a');
      expect(await store.getAttributes('a')).toEqual([]);
    });

    it('14.2 updateAttributes removes then adds or replaces, atomically, within the bound', async () => {
      await fresh();
      await store.setAttributes('a', [['k', '1'], ['j', '2']]);
      expect(await store.updateAttributes('a', { set: [['k', '3'], ['n', '4']], remove: ['j'] }, 3)).toBe(true);
      expect(new Map(await store.getAttributes('a'))).toEqual(new Map([['k', '3'], ['n', '4']]));
      expect(await store.updateAttributes('a', { set: [['x', '1'], ['y', '2']], remove: [] }, 3)).toBe(false);
      expect(new Map(await store.getAttributes('a'))).toEqual(new Map([['k', '3'], ['n', '4']]));
      expect(await store.updateAttributes('a', { set: [], remove: ['k', 'n', 'absent'] }, 3)).toBe(true);
      expect(await store.getAttributes('a')).toEqual([]);
    });

    it('14.2 channel attributes: clear, remove, set in one change, stamped, bounded, copies out', async () => {
      await fresh();
      expect(await store.getChannelAttributes('r')).toEqual([]);
      const first = await store.changeChannelAttributes('r', { clear: false, remove: [], set: [['a', '1'], ['b', '2']], by: 'u', ts: 10 }, 3);
      expect(first).toEqual([
        { key: 'a', value: '1', by: 'u', ts: 10 },
        { key: 'b', value: '2', by: 'u', ts: 10 },
      ]);
      const second = await store.changeChannelAttributes('r', { clear: false, remove: ['a'], set: [['b', '3'], ['c', '4']], by: 'v', ts: 20 }, 3);
      expect(second).toEqual([
        { key: 'b', value: '3', by: 'v', ts: 20 },
        { key: 'c', value: '4', by: 'v', ts: 20 },
      ]);
      second![0]!.value = 'changed outside';
      expect(await store.changeChannelAttributes('r', { clear: false, remove: [], set: [['d', '5'], ['e', '6']], by: 'v', ts: 30 }, 3)).toBeNull();
      expect((await store.getChannelAttributes('r')).map((a) => [a.key, a.value])).toEqual([['b', '3'], ['c', '4']]);
      expect(await store.changeChannelAttributes('r', { clear: true, remove: [], set: [['z', '9']], by: 'w', ts: 40 }, 3)).toEqual([
        { key: 'z', value: '9', by: 'w', ts: 40 },
      ]);
      expect(await store.getChannelAttributes('other')).toEqual([]);
      await store.changeChannelAttributes('r', { clear: true, remove: [], set: [], by: 'w', ts: 50 }, 3);
      expect(await store.getChannelAttributes('r')).toEqual([]);
    });

    it('14.2 raw messages keep their bytes in the inbox and the channel history', async () => {
      await fresh();
      const put = await store.appendToInbox({ msgId: 'm', from: 'a', to: 'b', text: 'desc', raw: 'AAEC', ts: 1 }, bounds);
      expect(put.stored).toMatchObject({ raw: 'AAEC', text: 'desc' });
      expect((await store.readInbox('b', 0))[0]).toMatchObject({ raw: 'AAEC' });
      await store.appendToChannel({ channel: 'r', msgId: 'c', from: 'a', text: '', raw: '/w==', ts: 1 }, bounds);
      const page = await store.channelHistory('r', { afterSeq: 0, sinceTs: 0, max: 10 });
      expect(page.messages[0]).toMatchObject({ raw: '/w==' });
    });
  });
}

