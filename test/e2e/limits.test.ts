/**
 * R8 end to end, from the client's side: every bad argument or wrong-state call is a promise
 * rejection with a typed RtmError code, checked before anything is sent; the server's limits
 * reach the app as codes too; nothing else is affected.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RtmError, RtmErrorCode, type RtmClient } from '../../src/index.js';
import { MAX_MESSAGE_BYTES, SUBPROTOCOL } from '../../src/protocol/index.js';
import { elapse, fastTiming, loggedIn, recordPeerMessages, recordStates, useSystems, waitFor } from './harness.js';

const start = useSystems();

async function codeOf(call: () => Promise<unknown>): Promise<string> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(`threw synchronously instead of rejecting: ${String(error)}`);
  }
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RtmError);
    return (error as RtmError).code;
  }
  return 'resolved';
}

describe('R8 bad input and limits', () => {
  it('R8 malformed uids, channel ids, attributes and uid lists are INVALID_ARGUMENT, before anything is sent', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice');
    const states = recordStates(alice);
    const bad = ['', 'a b', 'x'.repeat(65), 'naïve', '__proto__', 42 as unknown as string];
    for (const id of bad) {
      expect(await codeOf(() => alice.sendMessageToPeer({ text: 'hi' }, id))).toBe(RtmErrorCode.INVALID_ARGUMENT);
      expect(await codeOf(() => alice.getUserAttributes(id))).toBe(RtmErrorCode.INVALID_ARGUMENT);
      expect(await codeOf(() => alice.queryPeersOnlineStatus([id]))).toBe(RtmErrorCode.INVALID_ARGUMENT);
      expect(() => alice.createChannel(id)).toThrow(RtmError);
    }
    expect(await codeOf(() => alice.queryPeersOnlineStatus([]))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(() => alice.setLocalUserAttributes({ 'bad key': 'v' }))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(() => alice.setLocalUserAttributes({ k: 5 as unknown as string }))).toBe(
      RtmErrorCode.INVALID_ARGUMENT,
    );
    expect(await codeOf(() => alice.setLocalUserAttributes(JSON.parse('{"__proto__":"x"}')))).toBe(
      RtmErrorCode.INVALID_ARGUMENT,
    );
    expect(await codeOf(() => alice.renewToken(''))).toBe(RtmErrorCode.INVALID_ARGUMENT);
    expect(states).toEqual([]);
    expect(alice.connectionState).toBe('CONNECTED');
  });

  it('R8 text over 32 KiB (in UTF-8 bytes) is INVALID_MESSAGE before sending; exactly 32 KiB goes through', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice');
    const bob = await loggedIn(system, 'bob');
    const got = recordPeerMessages(bob);
    const room = alice.createChannel('room');
    await room.join();
    const tooLong = 'x'.repeat(MAX_MESSAGE_BYTES + 1);
    const tooManyBytes = 'é'.repeat(MAX_MESSAGE_BYTES / 2 + 1); // 2 bytes each
    for (const text of [tooLong, tooManyBytes]) {
      expect(await codeOf(() => alice.sendMessageToPeer({ text }, 'bob'))).toBe(RtmErrorCode.INVALID_MESSAGE);
      expect(await codeOf(() => room.sendMessage({ text }))).toBe(RtmErrorCode.INVALID_MESSAGE);
    }
    expect(await codeOf(() => alice.sendMessageToPeer({ text: 5 } as unknown as { text: string }, 'bob'))).toBe(
      RtmErrorCode.INVALID_MESSAGE,
    );
    const exact = 'y'.repeat(MAX_MESSAGE_BYTES);
    expect(await alice.sendMessageToPeer({ text: exact }, 'bob')).toEqual({ hasPeerReceived: true });
    await waitFor(() => got.length === 1, 'the 32 KiB message');
    expect(got[0]!.text).toBe(exact);
    expect(alice.connectionState).toBe('CONNECTED');
  });

  it('R8 calls in the wrong state reject NOT_LOGGED_IN, ALREADY_JOINED, NOT_JOINED (never thrown)', async () => {
    const system = await start();
    const client = system.client();
    const room = client.createChannel('room');
    expect(await codeOf(() => client.sendMessageToPeer({ text: 'hi' }, 'bob'))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => client.queryPeersOnlineStatus(['bob']))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => client.setLocalUserAttributes({ a: 'b' }))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => client.getUserAttributes('bob'))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => client.renewToken('t'))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => room.join())).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => room.sendMessage({ text: 'hi' }))).toBe(RtmErrorCode.NOT_LOGGED_IN);
    expect(await codeOf(() => client.logout())).toBe('resolved');
    await client.login({ uid: 'alice', token: system.token('alice') });
    expect(await codeOf(() => room.leave())).toBe(RtmErrorCode.NOT_JOINED);
    expect(await codeOf(() => room.sendMessage({ text: 'hi' }))).toBe(RtmErrorCode.NOT_JOINED);
    expect(await codeOf(() => room.getMembers())).toBe(RtmErrorCode.NOT_JOINED);
    await room.join();
    expect(await codeOf(() => room.join())).toBe(RtmErrorCode.ALREADY_JOINED);
    expect(await room.getMembers()).toEqual(['alice']);
    await room.leave();
    expect(await codeOf(() => room.leave())).toBe(RtmErrorCode.NOT_JOINED);
    await room.join();
    await client.logout();
    expect(room.joined).toBe(false);
    expect(await codeOf(() => room.sendMessage({ text: 'hi' }))).toBe(RtmErrorCode.NOT_LOGGED_IN);
  });

  it('R8 over the per-user send rate: TOO_OFTEN; the session goes on', async () => {
    const system = await start(fastTiming, { limits: { rateLimitPerSecond: 5 } });
    const alice = await loggedIn(system, 'alice');
    await loggedIn(system, 'bob');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => codeOf(() => alice.sendMessageToPeer({ text: `m${i}` }, 'bob'))),
    );
    expect(results.filter((r) => r === 'resolved').length).toBe(5);
    expect(results.filter((r) => r === RtmErrorCode.TOO_OFTEN).length).toBe(3);
    await elapse(1100);
    expect(await codeOf(() => alice.sendMessageToPeer({ text: 'later' }, 'bob'))).toBe('resolved');
    expect(alice.connectionState).toBe('CONNECTED');
  });

  it('R8 the server stamps the sender: messages carry the uid of the login, whatever the client claims', async () => {
    const system = await start();
    const alice = await loggedIn(system, 'alice');
    const bob = await loggedIn(system, 'bob');
    const got = recordPeerMessages(bob);
    // A raw socket that logs in as eve and tries to pass as alice.
    const eve = new WebSocket(system.server.url, SUBPROTOCOL);
    await new Promise((resolve) => eve.once('open', resolve));
    const token = system.token('eve');
    eve.send(JSON.stringify({ t: 'login', id: 1, v: 1, uid: 'eve', token }));
    await new Promise((resolve) => eve.once('message', resolve));
    eve.send(JSON.stringify({ t: 'peer.send', id: 2, msgId: 'm1', to: 'bob', text: 'I am alice', offline: false, from: 'alice' }));
    await waitFor(() => got.length === 1, 'the message').catch(() => undefined);
    eve.close();
    expect(got.map((m) => m.from)).not.toContain('alice');
    await alice.sendMessageToPeer({ text: 'really alice' }, 'bob');
    await waitFor(() => got.some((m) => m.text === 'really alice'), 'alice');
    expect(got.find((m) => m.text === 'really alice')!.from).toBe('alice');
  });

  it('R8 a socket that breaks the protocol is closed; every other session goes on', async () => {
    const system = await start();
    const alice: RtmClient = await loggedIn(system, 'alice');
    const states = recordStates(alice);
    const rogue = new WebSocket(system.server.url, SUBPROTOCOL);
    await new Promise((resolve) => rogue.once('open', resolve));
    const closed = new Promise<number>((resolve) => rogue.once('close', (code) => resolve(code)));
    rogue.send('{ not json');
    expect(await closed).toBe(4000);
    expect(await alice.queryPeersOnlineStatus(['alice'])).toEqual({ alice: true });
    expect(states).toEqual([]);
  });
});
