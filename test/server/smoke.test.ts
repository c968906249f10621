import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

describe('smoke', () => {
  it('logs in, sends peer and channel messages', async () => {
    const server = await h.server();
    const a = await h.login(server, 'alice');
    const b = await h.login(server, 'bob');
    expect(a.grant.sessionExpired).toBe(false);
    const sent = await a.client.ok({ t: 'peer.send', msgId: 'm1', to: 'bob', text: 'hi', offline: false });
    expect(sent).toEqual({ hasPeerReceived: true });
    const msg = await b.client.next((f) => f.t === 'peer.msg');
    expect(msg).toMatchObject({ from: 'alice', text: 'hi', seq: 1, offline: false });
    await a.client.ok({ t: 'channel.join', channel: 'room' });
    const joined = await b.client.ok({ t: 'channel.join', channel: 'room' });
    expect(joined.members.sort()).toEqual(['alice', 'bob']);
    await a.client.next((f) => f.t === 'channel.member' && f.uid === 'bob');
    await b.client.ok({ t: 'channel.send', msgId: 'c1', channel: 'room', text: 'yo' });
    const cm = await a.client.next((f) => f.t === 'channel.msg');
    expect(cm).toMatchObject({ from: 'bob', text: 'yo', historical: false, channel: 'room' });
  });
});
