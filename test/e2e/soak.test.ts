/**
 * Soak: 1000 messages from one client to another while the receiver's link is cut, refused
 * or black-holed and restored at random, at least 10 times. Exactly 1000 must arrive, in send
 * order, none twice. The sender dials the server directly; only the receiver is faulted.
 *
 * The server's rate limit is raised for these tests (the default 60 sends/s would stretch
 * 1000 sends over 17 s). For the channel, channelReplayMax (1000), channelReplayWindowMs (60 s)
 * and the server's channelHistoryMax (2000) are set so that the replay rule (R5.3) permits a
 * full replay of anything missed; with the default 32 the rule itself would drop messages.
 */
import { describe, expect, it } from 'vitest';
import type { RtmClient } from '../../src/index.js';
import {
  elapse,
  fastTiming,
  loggedIn,
  machineState,
  pairInRoom,
  recordChannelMessages,
  recordPeerMessages,
  useSystems,
  waitFor,
  type System,
} from './harness.js';
import { prng } from '../seeded-random.js';

const start = useSystems();
const TOTAL = 1000;
const MIN_FAULTS = 10;

/** Breaks the receiver's link at random until `done()`, at least MIN_FAULTS times; returns the faults made. */
async function chaos(system: System, receiver: RtmClient, random: () => number, done: () => boolean): Promise<string[]> {
  const faults: string[] = [];
  while (!done() || faults.length < MIN_FAULTS) {
    await elapse(50 + random() * 150);
    await waitFor(() => machineState(receiver) === 'CONNECTED.linkUp', 'the receiver back', 10_000);
    const kind = faults.length % 3 === 1 ? 'blackhole' : random() < 0.5 ? 'cut' : 'cut+refuse';
    faults.push(kind);
    if (kind === 'blackhole') system.proxy.blackhole();
    else {
      if (kind === 'cut+refuse') system.proxy.refuse();
      system.proxy.cut();
    }
    await elapse(100 + random() * 300);
    system.proxy.restore();
  }
  return faults;
}

async function paced(send: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < TOTAL; i++) {
    await send(i);
    if (i % 25 === 24) await elapse(15); // spread the sends over the faults
  }
}

describe('soak', () => {
  it(`R5.1 R5.2 R5.5 ${TOTAL} peer messages through ≥${MIN_FAULTS} random faults (blackhole included): all, in order, once`, { timeout: 60_000 }, async () => {
    const seed = Date.now() % 100_000;
    const random = prng(seed);
    const system = await start({ ...fastTiming, requestTimeoutMs: 20_000 }, {
      limits: { rateLimitPerSecond: 100_000 },
    });
    const alice = await loggedIn(system, 'alice', true);
    const bob = await loggedIn(system, 'bob');
    const got = recordPeerMessages(bob);
    let sent = false;
    const faults = chaos(system, bob, random, () => sent);
    await paced((i) => alice.sendMessageToPeer({ text: `m${i}` }, 'bob'));
    sent = true;
    const made = await faults;
    await waitFor(() => got.length >= TOTAL, `${TOTAL} messages (seed ${seed})`, 20_000);
    await elapse(300);
    expect(made.length).toBeGreaterThanOrEqual(MIN_FAULTS);
    expect(made).toContain('blackhole');
    // Every fault cost the receiver its socket: it dialled again at least once per fault.
    expect(system.proxy.acceptedCount).toBeGreaterThan(made.length);
    expect(got.length).toBe(TOTAL);
    expect(got.map((m) => m.text)).toEqual(Array.from({ length: TOTAL }, (_, i) => `m${i}`));
  });

  it(`R5.3 R5.4 ${TOTAL} channel messages through ≥${MIN_FAULTS} random faults, replay rule set to permit full replay: all, in order, once`, { timeout: 60_000 }, async () => {
    const seed = Date.now() % 100_000;
    const random = prng(seed);
    const system = await start(
      { ...fastTiming, channelReplayMax: TOTAL, channelReplayWindowMs: 60_000, requestTimeoutMs: 20_000 },
      {
        limits: { rateLimitPerSecond: 100_000, channelHistoryMax: 2 * TOTAL },
        timing: { ...fastTiming, channelReplayMax: TOTAL, channelReplayWindowMs: 60_000, requestTimeoutMs: 20_000 },
      },
    );
    const { alice, bob, aliceRoom, bobRoom } = await pairInRoom(system);
    const got = recordChannelMessages(bobRoom);
    let sent = false;
    const faults = chaos(system, bob, random, () => sent);
    await paced((i) => aliceRoom.sendMessage({ text: `c${i}` }));
    sent = true;
    const made = await faults;
    await waitFor(() => got.length >= TOTAL, `${TOTAL} channel messages (seed ${seed})`, 20_000);
    await elapse(300);
    expect(made.length).toBeGreaterThanOrEqual(MIN_FAULTS);
    expect(system.proxy.acceptedCount).toBeGreaterThan(made.length);
    expect(got.length).toBe(TOTAL);
    expect(got.map((m) => m.text)).toEqual(Array.from({ length: TOTAL }, (_, i) => `c${i}`));
  });
});
