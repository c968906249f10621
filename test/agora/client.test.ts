/**
 * Issue 14.2 end to end: the Agora RTM 1.x calls and events of real RtmClients against a real
 * server, through the fault proxy where a reconnect matters.
 */
import { describe, expect, it } from 'vitest';
import AgoraRTM, {
  ConnectionState,
  MessageType,
  PeerOnlineState,
  RtmClient,
  RtmErrorCode,
  RtmStatusCode,
  createInstance,
  type PeersOnlineStatusMap,
  type ReceivedMessage,
} from '../../src/index.js';
import { MAX_RAW_MESSAGE_BYTES } from '../../src/protocol/index.js';
import { elapse, eventually, loggedIn, recordStates, takeDown, useSystems, waitFor } from '../e2e/harness.js';

const start = useSystems();

async function codeOf(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('14.2 createInstance and the default export', () => {
  it('14.2 createInstance({ url }), (appId, { url }) and (url) make clients; an App ID alone is INVALID_ARGUMENT', async () => {
    const system = await start();
    const clients = [
      createInstance({ url: system.server.url, timing: system.timing }),
      AgoraRTM.createInstance('my-app-id', { url: system.server.url, timing: system.timing, enableLogUpload: false }),
      AgoraRTM.createInstance(system.server.url, undefined, ['GLOBAL']),
    ];
    for (const [i, client] of clients.entries()) {
      expect(client).toBeInstanceOf(RtmClient);
      await client.login({ uid: `u${i}`, token: system.token(`u${i}`) });
      expect(client.connectionState).toBe(AgoraRTM.ConnectionState.CONNECTED);
      await client.logout();
      client.actor.stop();
    }
    expect(await codeOf(() => AgoraRTM.createInstance('my-app-id'))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(() => AgoraRTM.createInstance('my-app-id', { url: 'http://nope' }))).toBe(RtmErrorCode.INVALID_ARGUMENT);
  });

  it('14.2 RtmStatusCode and the default export carry Agora\'s enum values', () => {
    expect(RtmStatusCode.ConnectionState.ABORTED).toBe('ABORTED');
    expect(RtmStatusCode.ConnectionChangeReason.REMOTE_LOGIN).toBe('REMOTE_LOGIN');
    expect(Object.values(RtmStatusCode.PeerOnlineState)).toEqual(['ONLINE', 'UNREACHABLE', 'OFFLINE']);
    expect(Object.values(AgoraRTM.MessageType)).toEqual(['TEXT', 'RAW']);
    expect(AgoraRTM.PeerSubscriptionOption.ONLINE_STATUS).toBe('ONLINE_STATUS');
    expect(AgoraRTM.ConnectionState).toBe(ConnectionState);
    expect(AgoraRTM.PeerOnlineState).toBe(PeerOnlineState);
    expect(MessageType.RAW).toBe('RAW');
  });
});

describe('14.2 login without a token', () => {
  it('14.2 a server that requires tokens refuses it: DISCONNECTED / LOGIN_FAILURE, INVALID_TOKEN', async () => {
    const system = await start();
    const client = system.client();
    const states = recordStates(client);
    expect(await codeOf(() => client.login({ uid: 'alice' }))).toBe(RtmErrorCode.INVALID_TOKEN);
    expect(states).toEqual(['CONNECTING/LOGIN', 'DISCONNECTED/LOGIN_FAILURE']);
  });

  it('14.2 a server with allowAnonymousLogin lets it in, and the session survives a cut (resume without a token)', async () => {
    const system = await start(undefined, { allowAnonymousLogin: true });
    const client = system.client();
    const states = recordStates(client);
    await client.login({ uid: 'alice' });
    const other = await loggedIn(system, 'bob', true);
    system.proxy.cut();
    await elapse(50);
    await waitFor(() => system.server.stats().connections === 2, 'the resumed socket');
    expect(states).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS']);
    expect(await other.sendMessageToPeer({ text: 'hi' }, 'alice')).toEqual({ hasPeerReceived: true });
  });
});

describe('14.2 user attributes by key', () => {
  it('14.2 addOrUpdate / deleteByKeys / clear / getUserAttributesByKeys, and the result is what R4.4 re-sends', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    await bob.setLocalUserAttributes({ a: '1', b: '2' });
    await bob.addOrUpdateLocalUserAttributes({ b: '3', c: '4' });
    await bob.deleteLocalUserAttributesByKeys(['a']);
    expect(await alice.getUserAttributes('bob')).toEqual({ b: '3', c: '4' });
    expect(await alice.getUserAttributesByKeys('bob', ['c', 'zzz'])).toEqual({ c: '4' });
    // The presence window runs out: the server drops them; the client re-sends what it has now.
    await takeDown(system, bob);
    await eventually(async () => expect(await alice.queryPeersOnlineStatus(['bob'])).toEqual({ bob: false }), 5000);
    expect(await alice.getUserAttributes('bob')).toEqual({});
    system.proxy.restore();
    await waitFor(() => bob.connectionState === 'CONNECTED', 'bob back');
    await eventually(async () => expect(await alice.getUserAttributes('bob')).toEqual({ b: '3', c: '4' }));
    await bob.clearLocalUserAttributes();
    expect(await alice.getUserAttributes('bob')).toEqual({});
    expect(await codeOf(() => bob.deleteLocalUserAttributesByKeys([]))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(() => bob.getUserAttributesByKeys('bob', ['bad key']))).toBe(RtmErrorCode.INVALID_ARGUMENT);
  });
});

describe('14.2 channel attributes', () => {
  it('14.2 the six calls work without joining; AttributesUpdated reaches members when notification is asked', async () => {
    const system = await start();
    const member = await loggedIn(system, 'member', true);
    const editor = await loggedIn(system, 'editor', true);
    const room = member.createChannel('room');
    const updates: Array<Record<string, { value: string; lastUpdateUserId: string }>> = [];
    room.on('AttributesUpdated', (attributes) => updates.push(attributes));
    await room.join();
    const before = Date.now();
    await editor.setChannelAttributes('room', { topic: 'cats', mode: 'open' });
    await editor.addOrUpdateChannelAttributes('room', { mode: 'closed' }, { enableNotificationToChannelMembers: true });
    await waitFor(() => updates.length === 1, 'AttributesUpdated');
    expect(updates[0]).toMatchObject({
      topic: { value: 'cats', lastUpdateUserId: 'editor' },
      mode: { value: 'closed', lastUpdateUserId: 'editor' },
    });
    const all = await member.getChannelAttributes('room');
    expect(Object.keys(all)).toEqual(['topic', 'mode']);
    expect(all.topic!.lastUpdateTs).toBeGreaterThanOrEqual(before);
    expect(Object.keys(await member.getChannelAttributesByKeys('room', ['mode', 'none']))).toEqual(['mode']);
    await editor.deleteChannelAttributesByKeys('room', ['topic'], { enableNotificationToChannelMembers: true });
    await waitFor(() => updates.length === 2, 'second AttributesUpdated');
    expect(Object.keys(updates[1]!)).toEqual(['mode']);
    await editor.clearChannelAttributes('room');
    expect(await member.getChannelAttributes('room')).toEqual({});
    await elapse(50);
    expect(updates).toHaveLength(2);
    expect(await codeOf(() => editor.setChannelAttributes('room', { k: 'x'.repeat(8 * 1024 + 1) }))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(() => editor.clearChannelAttributes('bad id'))).toBe(RtmErrorCode.INVALID_ARGUMENT);
  });
});

describe('14.2 member counts', () => {
  it('14.2 getChannelMemberCount answers for any channel; MemberCountUpdated on joining and after changes', async () => {
    const system = await start(undefined, { limits: { memberCountIntervalMs: 100 } });
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob', true);
    const room = alice.createChannel('room');
    const counts: number[] = [];
    room.on('MemberCountUpdated', (count) => counts.push(count));
    await room.join();
    expect(counts).toEqual([1]);
    await bob.createChannel('room').join();
    await waitFor(() => counts.length === 2, 'count 2');
    expect(await bob.getChannelMemberCount(['room', 'elsewhere'])).toEqual({ room: 2, elsewhere: 0 });
    await bob.logout();
    await waitFor(() => counts.length === 3, 'count 1');
    expect(counts).toEqual([1, 2, 1]);
    const many = Array.from({ length: 33 }, (_, i) => `c${i}`);
    expect(await codeOf(() => alice.getChannelMemberCount(many))).toBe(RtmErrorCode.INVALID_ARGUMENT);
  });
});

describe('14.2 presence subscriptions', () => {
  it('14.2 PeersOnlineStatusChanged: all at once on subscribing, then ONLINE / UNREACHABLE / OFFLINE as they come', async () => {
    const system = await start();
    const watcher = await loggedIn(system, 'watcher', true);
    const reports: PeersOnlineStatusMap[] = [];
    watcher.on('PeersOnlineStatusChanged', (status) => reports.push(status));
    await watcher.subscribePeersOnlineStatus(['target', 'nobody']);
    expect(reports).toEqual([{ target: 'OFFLINE', nobody: 'OFFLINE' }]);
    expect(await watcher.queryPeersBySubscriptionOption(AgoraRTM.PeerSubscriptionOption.ONLINE_STATUS)).toEqual(['target', 'nobody']);
    const target = await loggedIn(system, 'target');
    await waitFor(() => reports.length === 2, 'ONLINE');
    await takeDown(system, target, 'linkLost');
    await waitFor(() => reports.length === 3, 'UNREACHABLE');
    await waitFor(() => reports.length === 4, 'OFFLINE after the presence window', 5000);
    expect(reports.slice(1)).toEqual([{ target: 'ONLINE' }, { target: 'UNREACHABLE' }, { target: 'OFFLINE' }]);
    await watcher.unsubscribePeersOnlineStatus(['target']);
    expect(await watcher.queryPeersBySubscriptionOption('ONLINE_STATUS')).toEqual(['nobody']);
    system.proxy.restore();
    await waitFor(() => target.connectionState === 'CONNECTED', 'target back');
    await elapse(100);
    expect(reports).toHaveLength(4);
  });

  it('14.2 a change while the watcher was away is reported once it is back; logout ends the subscriptions', async () => {
    const system = await start();
    const target = await loggedIn(system, 'target', true);
    const watcher = await loggedIn(system, 'watcher');
    const reports: PeersOnlineStatusMap[] = [];
    watcher.on('PeersOnlineStatusChanged', (status) => reports.push(status));
    await watcher.subscribePeersOnlineStatus(['target']);
    expect(reports).toEqual([{ target: 'ONLINE' }]);
    await takeDown(system, watcher);
    await target.logout();
    await elapse(100);
    expect(reports).toHaveLength(1);
    system.proxy.restore();
    await waitFor(() => reports.length === 2, 'the change made while away');
    expect(reports[1]).toEqual({ target: 'OFFLINE' });
    await watcher.logout();
    expect(await codeOf(() => watcher.queryPeersBySubscriptionOption('ONLINE_STATUS'))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    await watcher.login({ uid: 'watcher', token: system.token('watcher') });
    expect(await watcher.queryPeersBySubscriptionOption('ONLINE_STATUS')).toEqual([]);
    expect(await codeOf(() => watcher.subscribePeersOnlineStatus([]))).toBe(RtmErrorCode.INVALID_ARGUMENT);
  });
});

describe('14.2 TokenPrivilegeWillExpire', () => {
  it('14.2 fires before the token expires; renewToken while connected gives the server the new token', async () => {
    const system = await start(undefined, { limits: { tokenWillExpireNoticeMs: 1000 } });
    const client = system.directClient();
    let warned = 0;
    client.on('TokenPrivilegeWillExpire', () => warned++);
    await client.login({ uid: 'alice', token: system.token('alice', 2) });
    expect(warned).toBe(0);
    await waitFor(() => warned === 1, 'TokenPrivilegeWillExpire', 3000);
    await client.renewToken(system.token('alice', 2));
    await elapse(150);
    expect(warned).toBe(1);
    await waitFor(() => warned === 2, 'TokenPrivilegeWillExpire for the renewed token', 3000);
    expect(await codeOf(() => client.renewToken(system.token('bob')))).toBe(RtmErrorCode.INVALID_TOKEN);
    expect(client.connectionState).toBe('CONNECTED');
  });
});

describe('14.2 raw messages', () => {
  it('14.2 raw peer and channel messages arrive with messageType RAW, their bytes and description; text as TEXT', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob', true);
    const peer: ReceivedMessage[] = [];
    const room: ReceivedMessage[] = [];
    bob.on('MessageFromPeer', (message) => peer.push(message));
    const bobRoom = bob.createChannel('room');
    bobRoom.on('ChannelMessage', (message) => room.push(message));
    await bobRoom.join();
    const aliceRoom = alice.createChannel('room');
    await aliceRoom.join();
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    await alice.sendMessageToPeer({ rawMessage: bytes, description: 'five bytes' }, 'bob');
    await alice.sendMessageToPeer(alice.createMessage({ text: 'plain' }), 'bob');
    await aliceRoom.sendMessage({ rawMessage: bytes, messageType: 'RAW' });
    await waitFor(() => peer.length === 2 && room.length === 1, 'the messages');
    expect(peer[0]).toEqual({ messageType: 'RAW', rawMessage: bytes, description: 'five bytes', text: '' });
    expect(peer[1]).toEqual({ messageType: 'TEXT', text: 'plain' });
    expect(room[0]).toEqual({ messageType: 'RAW', rawMessage: bytes, description: '', text: '' });
    expect(alice.createMessage({ rawMessage: bytes })).toEqual({ rawMessage: bytes, messageType: 'RAW' });
  });

  it('R8 14.2 a raw message over 32 KiB, a non-Uint8Array payload or a mismatched messageType is INVALID_MESSAGE before sending', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob', true);
    const peer: ReceivedMessage[] = [];
    bob.on('MessageFromPeer', (message) => peer.push(message));
    const full = new Uint8Array(MAX_RAW_MESSAGE_BYTES - 1).fill(7);
    await alice.sendMessageToPeer({ rawMessage: full, description: 'x' }, 'bob');
    await waitFor(() => peer.length === 1, 'the 32 KiB raw message');
    expect(peer[0]!.rawMessage).toEqual(full);
    for (const message of [
      { rawMessage: full, description: 'xy' },
      { rawMessage: [1, 2, 3] },
      { rawMessage: full.subarray(0, 4), messageType: 'TEXT' },
      { text: 'hi', messageType: 'RAW' },
      { rawMessage: full.subarray(0, 4), text: 'not here' },
    ]) {
      expect(await codeOf(() => alice.sendMessageToPeer(message as never, 'bob'))).toBe(RtmErrorCode.INVALID_MESSAGE);
    }
    await elapse(50);
    expect(peer).toHaveLength(1);
  });
});
