/**
 * R3 (interruption and reconnection) and R4 (presence) end to end, with network faults made
 * by the fault proxy: a cut, a refused re-dial, a black hole. Timing is fastTiming for client
 * and server alike (grace 400 ms, presence 1.5 s).
 */
import { describe, expect, it } from 'vitest';
import {
  elapse,
  eventually,
  fastTiming,
  loggedIn,
  machineState,
  recordMembers,
  recordStates,
  takeDown,
  useSystems,
  waitFor,
  type System,
} from './harness.js';

const start = useSystems();


describe('R3 interruption and reconnection', () => {
  it('R3.1 a cut link is re-dialled at once and silently: no state event, state stays CONNECTED', async () => {
    const system = await start();
    const client = await loggedIn(system, 'alice');
    const states = recordStates(client);
    const dials = system.proxy.acceptedCount;
    system.proxy.cut();
    await waitFor(() => system.proxy.acceptedCount > dials && machineState(client) === 'CONNECTED.linkUp', 'the re-dial');
    await elapse(system.timing.interruptionGraceMs);
    expect(states).toEqual([]);
    expect(client.connectionState).toBe('CONNECTED');
    expect(system.proxy.acceptedCount).toBeGreaterThan(dials);
  });

  it('R3.1 R3.2 a black-holed link is noticed by the heartbeat; not restored within the grace: RECONNECTING / INTERRUPTED', async () => {
    const system = await start();
    const client = await loggedIn(system, 'alice');
    const states = recordStates(client);
    const started = Date.now();
    system.proxy.blackhole();
    await waitFor(() => client.connectionState === 'RECONNECTING', 'RECONNECTING', 5000);
    const elapsed = Date.now() - started;
    expect(states).toEqual(['RECONNECTING/INTERRUPTED']);
    // Heartbeat timeout (grace / 2 on the server's choice) plus the grace itself.
    expect(elapsed).toBeGreaterThanOrEqual(system.timing.interruptionGraceMs);
    expect(elapsed).toBeLessThan(system.timing.interruptionGraceMs * 2 + 1000);
    system.proxy.restore();
    await waitFor(() => client.connectionState === 'CONNECTED', 'CONNECTED');
    expect(states).toEqual(['RECONNECTING/INTERRUPTED', 'CONNECTED/LOGIN_SUCCESS']);
  });

  it('R3.2 a cut link that cannot be re-dialled: RECONNECTING / INTERRUPTED after interruptionGraceMs', async () => {
    const system = await start();
    const client = await loggedIn(system, 'alice');
    const states = recordStates(client);
    system.proxy.refuse();
    const started = Date.now();
    system.proxy.cut();
    await waitFor(() => client.connectionState === 'RECONNECTING', 'RECONNECTING');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(system.timing.interruptionGraceMs - 5);
    expect(elapsed).toBeLessThan(system.timing.interruptionGraceMs + 500);
    expect(states).toEqual(['RECONNECTING/INTERRUPTED']);
  });

  it('R3.3 R3.4 while RECONNECTING it keeps re-dialling with bounded backoff; success: CONNECTED / LOGIN_SUCCESS once', async () => {
    const system = await start();
    const client = system.client();
    const states = recordStates(client);
    let resolved = 0;
    await client.login({ uid: 'alice', token: system.token('alice') }).then(() => resolved++);
    await takeDown(system, client);
    const before = system.proxy.acceptedCount;
    // Count the attempts through a black hole: each is accepted, then abandoned by the client.
    system.proxy.blackhole();
    await elapse(1800);
    // An attempt lasts at most min(loginTimeout, max(1 s, grace / 2)) = 600 ms, then waits ≤ grace / 2.
    const attempts = system.proxy.acceptedCount - before;
    expect(attempts).toBeGreaterThanOrEqual(2);
    system.proxy.restore();
    const restoredAt = Date.now();
    await waitFor(() => client.connectionState === 'CONNECTED', 'CONNECTED');
    // The backoff cap is min(2 s, grace / 2): back within it plus one attempt.
    expect(Date.now() - restoredAt).toBeLessThan(system.timing.interruptionGraceMs / 2 + 1000);
    expect(states).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS', 'RECONNECTING/INTERRUPTED', 'CONNECTED/LOGIN_SUCCESS']);
    expect(resolved).toBe(1);
  });

  it('R3.5 logout while RECONNECTING: DISCONNECTED / LOGOUT; login() works afterwards', async () => {
    const system = await start();
    const client = await loggedIn(system, 'alice');
    const states = recordStates(client);
    await takeDown(system, client);
    await client.logout();
    system.proxy.restore();
    await client.login({ uid: 'alice', token: system.token('alice') });
    expect(states).toEqual([
      'RECONNECTING/INTERRUPTED',
      'DISCONNECTED/LOGOUT',
      'CONNECTING/LOGIN',
      'CONNECTED/LOGIN_SUCCESS',
    ]);
  });

  it('R3.6 the token expires while RECONNECTING: TokenExpired once, state stays; renewToken lets the next attempt in', async () => {
    const system = await start();
    const client = system.client();
    const states = recordStates(client);
    let expiries = 0;
    client.on('TokenExpired', () => expiries++);
    await client.login({ uid: 'alice', token: system.token('alice', 0.8) });
    await takeDown(system, client);
    await elapse(900); // the token is now expired
    system.proxy.restore();
    await waitFor(() => expiries === 1, 'TokenExpired');
    // Several refused resumes later: still once, still RECONNECTING.
    await elapse(600);
    expect(expiries).toBe(1);
    expect(client.connectionState).toBe('RECONNECTING');
    await client.renewToken(system.token('alice'));
    await waitFor(() => client.connectionState === 'CONNECTED', 'CONNECTED');
    expect(states).toEqual([
      'CONNECTING/LOGIN',
      'CONNECTED/LOGIN_SUCCESS',
      'RECONNECTING/INTERRUPTED',
      'CONNECTED/LOGIN_SUCCESS',
    ]);
    expect(expiries).toBe(1);
  });
});

describe('R4 presence', () => {
  async function twoInRoom(system: System) {
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const aliceRoom = alice.createChannel('room');
    await aliceRoom.join();
    const members = recordMembers(aliceRoom);
    await bob.createChannel('room').join();
    await waitFor(() => members.length === 1, 'MemberJoined bob');
    return { alice, bob, aliceRoom, members };
  }

  it('R4.1 R4.2 away less than presenceTimeoutMs: still online, no member event; back: CONNECTED, channels unchanged', async () => {
    const system = await start();
    const { alice, bob, aliceRoom, members } = await twoInRoom(system);
    const states = recordStates(bob);
    await takeDown(system, bob);
    expect(await alice.queryPeersOnlineStatus(['bob'])).toEqual({ bob: true });
    expect((await aliceRoom.getMembers()).sort()).toEqual(['alice', 'bob']);
    system.proxy.restore();
    await waitFor(() => bob.connectionState === 'CONNECTED', 'CONNECTED');
    await elapse(system.timing.presenceTimeoutMs);
    expect(members).toEqual(['+bob']);
    expect(states).toEqual(['RECONNECTING/INTERRUPTED', 'CONNECTED/LOGIN_SUCCESS']);
    expect(await alice.queryPeersOnlineStatus(['bob'])).toEqual({ bob: true });
    expect((await bob.createChannel('room').getMembers()).sort()).toEqual(['alice', 'bob']);
  });

  it('R4.3 still away at presenceTimeoutMs: offline, and the other members get MemberLeft then', async () => {
    const system = await start();
    const { alice, bob, members } = await twoInRoom(system);
    system.proxy.refuse();
    const cutAt = Date.now();
    system.proxy.cut();
    await waitFor(() => members.length === 2, 'MemberLeft bob', 5000);
    const elapsed = Date.now() - cutAt;
    expect(members).toEqual(['+bob', '-bob']);
    expect(elapsed).toBeGreaterThanOrEqual(system.timing.presenceTimeoutMs - 5);
    expect(elapsed).toBeLessThan(system.timing.presenceTimeoutMs + 1000);
    expect(await alice.queryPeersOnlineStatus(['bob'])).toEqual({ bob: false });
    // The client's own presence timer runs in step with the server's (same timing, same start).
    await waitFor(() => machineState(bob) === 'RECONNECTING.presenceExpired', 'the client-side presence rule', 500);
  });

  it('R4.4 back after presence expired: CONNECTED, channels rejoined (MemberJoined) and attributes re-sent', async () => {
    const system = await start();
    const { alice, bob, aliceRoom, members } = await twoInRoom(system);
    await bob.setLocalUserAttributes({ mood: 'sunny', city: 'Lyon' });
    expect(await alice.getUserAttributes('bob')).toEqual({ mood: 'sunny', city: 'Lyon' });
    const states = recordStates(bob);
    system.proxy.refuse();
    system.proxy.cut();
    await waitFor(() => members.length === 2, 'MemberLeft bob', 5000);
    expect(await alice.getUserAttributes('bob')).toEqual({});
    system.proxy.restore();
    await waitFor(() => members.length === 3, 'MemberJoined bob again');
    expect(members).toEqual(['+bob', '-bob', '+bob']);
    expect(states).toEqual(['RECONNECTING/INTERRUPTED', 'CONNECTED/LOGIN_SUCCESS']);
    await eventually(async () => expect(await alice.getUserAttributes('bob')).toEqual({ mood: 'sunny', city: 'Lyon' }));
    expect((await aliceRoom.getMembers()).sort()).toEqual(['alice', 'bob']);
    expect(await alice.queryPeersOnlineStatus(['bob'])).toEqual({ bob: true });
    // And bob is really back in: he hears the room again.
    const heard: string[] = [];
    bob.createChannel('room').on('ChannelMessage', (m) => heard.push(m.text));
    await aliceRoom.sendMessage({ text: 'welcome back' });
    await waitFor(() => heard.length === 1, 'the message');
    expect(heard).toEqual(['welcome back']);
  });

  it('R4.4 presence expired on the server while the client was still within its grace (CONNECTED.linkLost): restored too', async () => {
    // A server whose presence window (300 ms) is shorter than the client's grace (1.5 s).
    const system = await start(
      { ...fastTiming, interruptionGraceMs: 1500, presenceTimeoutMs: 3000 },
      { timing: { interruptionGraceMs: 200, presenceTimeoutMs: 300 } },
    );
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const room = alice.createChannel('room');
    await room.join();
    const members = recordMembers(room);
    await bob.createChannel('room').join();
    await bob.setLocalUserAttributes({ k: 'v' });
    await waitFor(() => members.length === 1, 'MemberJoined');
    const states = recordStates(bob);
    system.proxy.refuse();
    system.proxy.cut();
    await waitFor(() => members.length === 2, 'MemberLeft (server presence expired)');
    expect(machineState(bob)).toBe('CONNECTED.linkLost');
    system.proxy.restore();
    await waitFor(() => members.length === 3, 'MemberJoined again');
    expect(states).toEqual([]);
    expect(members).toEqual(['+bob', '-bob', '+bob']);
    await eventually(async () => expect(await alice.getUserAttributes('bob')).toEqual({ k: 'v' }));
  });
});
