/**
 * Issue 12.5: the relay's history is bounded by bytes, per producer and in total, not only by
 * count; a producer flooding it pushes out its own history, not the others'.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, defaultRelayLimits, type InspectionMessage } from '../../inspector/server/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { openProducer, openViewer, startBystander, startServer, waitFor } from './inspector-rig.js';

const MiB = 1024 * 1024;

function bulky(sessionId: string, n: number, bytes: number): InspectionMessage {
  return { type: '@xstate.snapshot', sessionId, event: { type: 'TICK' }, snapshot: { status: 'active', value: 'on', context: { n, blob: 'x'.repeat(bytes) } } };
}

describe('12.5 history bounded by bytes', () => {
  let server: RtmServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('12.5 the defaults bound the history at 64 MiB in all, 16 MiB per producer and 1 MiB per message', () => {
    expect(defaultRelayLimits).toMatchObject({ historyMaxBytes: 64 * MiB, producerHistoryMaxBytes: 16 * MiB, maxMessageBytes: MiB, historyLimit: 10_000 });
    // 100 frames just under 1 MiB each: far under the count bound, yet held to 16 MiB.
    const relay = new Relay();
    const flood = relay.addProducer('flood');
    for (let n = 0; n < 100; n++) expect(flood.publish(bulky('x:0', n, MiB - 200)).ok).toBe(true);
    expect(relay.producerBytes('flood')).toBeLessThanOrEqual(16 * MiB);
    expect(relay.historyBytes).toBeLessThanOrEqual(16 * MiB);
    // What is kept is the most recent, and the actor's state before it survives as its base.
    const kept = relay.replay();
    expect((kept.at(-1) as { snapshot: { context: { n: number } } }).snapshot.context.n).toBe(99);
    expect(kept[0]).toMatchObject({ type: '@xstate.actor', sessionId: 'flood/x:0' });
  });

  it('12.5 over WebSocket: a flooding producer keeps within its share, the others keep their history, a late page gets a bounded replay', async () => {
    server = await startServer();
    const bystander = await startBystander(server);
    const relayUrl = server.inspector!.relayUrl;
    const quiet = await openProducer(`${relayUrl}?producer=quiet`);
    quiet.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', name: 'quiet' }));
    for (let n = 0; n < 20; n++) quiet.ws.send(JSON.stringify(bulky('x:0', n, 100)));
    const flood = await openProducer(`${relayUrl}?producer=flood`);
    const chunk = JSON.stringify(bulky('x:0', 0, 900 * 1024));
    for (let n = 0; n < 60; n++) flood.ws.send(chunk.replace('"n":0', `"n":${n}`));
    const viewer = await openViewer(relayUrl.replace('/relay', '/live'));
    await waitFor(() => viewer.items.filter((m) => m.sessionId === 'flood/x:0' && m.type === '@xstate.snapshot').some((m) => (m as { snapshot: { context: { n: number } } }).snapshot.context.n === 59), 'the last flood message', 30_000);
    viewer.ws.close();

    const late = await openViewer(relayUrl.replace('/relay', '/live'));
    await waitFor(() => late.items.some((m) => m.sessionId === 'quiet/x:0' && m.type === '@xstate.snapshot'), 'the quiet history in the replay');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const replayed = late.frames.reduce((sum, frame) => sum + Buffer.byteLength(frame), 0);
    expect(replayed).toBeLessThan(17 * MiB);
    // Every one of the quiet producer's 20 steps is still there.
    expect(late.items.filter((m) => m.sessionId === 'quiet/x:0' && m.type === '@xstate.snapshot')).toHaveLength(20);
    expect(late.items.filter((m) => m.sessionId === 'flood/x:0' && m.type === '@xstate.snapshot').length).toBeLessThan(20);
    late.ws.close();
    quiet.ws.close();
    flood.ws.close();
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12.5 the total bound holds across producers, and is configurable', () => {
    const relay = new Relay({ historyMaxBytes: 4 * MiB, producerHistoryMaxBytes: 2 * MiB, maxMessageBytes: MiB });
    const producers = ['a', 'b', 'c', 'd'].map((label) => relay.addProducer(label));
    for (let n = 0; n < 20; n++) for (const producer of producers) producer.publish(bulky('x:0', n, 256 * 1024));
    expect(relay.historyBytes).toBeLessThanOrEqual(4 * MiB);
    for (const label of ['a', 'b', 'c', 'd']) expect(relay.producerBytes(label)).toBeLessThanOrEqual(2 * MiB);
    expect(relay.publish(bulky('x:9', 0, 2 * MiB)).ok).toBe(true); // in-process: kept, its bulk replaced by a note
    const slimmed = relay.replay().find((m) => m.sessionId === 'x:9' && m.type === '@xstate.snapshot') as { snapshot: { context: unknown } } | undefined;
    expect(String(slimmed?.snapshot.context)).toMatch(/omitted: \d+ bytes/);
    expect(producers[0]!.publish(bulky('x:0', 0, 2 * MiB))).toMatchObject({ ok: false, closeCode: 1009 });
  });
});
