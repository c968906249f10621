/**
 * Issue 12.1: one hostile inspector frame must not take the RTM server down. Depth and size are
 * bounded when a frame arrives; the producer that sent it is closed; other producers, the pages
 * and every RTM session go on.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, createMachine } from 'xstate';
import type { RtmServer } from '../../src/server/index.js';
import { startInspectorServer } from '../../inspector/server/index.js';
import { openProducer, openViewer, startBystander, startServer, waitFor } from './inspector-rig.js';

/** `{ a: { a: … } }` nested `levels` deep, as one JSON text (built without recursion). */
function nested(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

describe('12.1 hostile inspector frames', () => {
  let server: RtmServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('12.1 a snapshot nested 5000 levels closes its producer (1008); a page connecting later, another producer and a bystander session lose nothing', async () => {
    server = await startServer();
    const bystander = await startBystander(server);
    const relayUrl = server.inspector!.relayUrl;
    const liveUrl = relayUrl.replace('/relay', '/live');
    const early = await openViewer(liveUrl);

    const hostile = await openProducer(relayUrl);
    const frame = `{"type":"@xstate.snapshot","sessionId":"x:0","event":{"type":"E"},"snapshot":${nested(5000)}}`;
    expect(frame.length).toBeGreaterThan(29_000);
    hostile.ws.send(frame);
    const closed = await hostile.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/nested deeper than 64/);

    // The crash came when a page connected after such a frame: one connects now.
    const late = await openViewer(liveUrl);
    const good = await openProducer(`${relayUrl}?producer=good`);
    good.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', name: 'fine' }));
    good.ws.send(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'GO' }, snapshot: { status: 'active', value: 'on', context: { n: 1 } } }));
    for (const viewer of [early, late]) {
      await waitFor(() => viewer.items.some((m) => m.type === '@xstate.snapshot' && m.sessionId === 'good/x:0'), 'the good producer\'s snapshot on every page');
      expect(viewer.open).toBe(true);
      expect(viewer.frames.join('')).not.toContain('{"a":{"a":{"a":');
    }
    expect(server.inspector).toBeDefined();
    good.ws.close();
    early.ws.close();
    late.ws.close();

    const outcome = await bystander.finish();
    expect(outcome.sent).toBeGreaterThan(0);
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12.1 a machine definition nested too deep, and a message over the size bound (1009), close only their producer', async () => {
    server = await startServer();
    const bystander = await startBystander(server);
    const relayUrl = server.inspector!.relayUrl;
    const viewer = await openViewer(relayUrl.replace('/relay', '/live'));

    const deepDefinition = await openProducer(relayUrl);
    deepDefinition.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', definition: nested(5000) }));
    expect((await deepDefinition.closed).code).toBe(1008);

    const huge = await openProducer(relayUrl);
    huge.ws.send(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'E' }, snapshot: { context: { blob: 'x'.repeat(1024 * 1024 + 1) } } }));
    const hugeClosed = await huge.closed;
    expect(hugeClosed.code).toBe(1009);

    const good = await openProducer(relayUrl);
    good.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', name: 'still-here' }));
    await waitFor(() => viewer.items.some((m) => m.type === '@xstate.actor' && m.name?.endsWith('/still-here') === true), 'the good producer on the page');
    expect(viewer.open).toBe(true);
    expect(server.inspector).toBeDefined();
    good.ws.close();
    viewer.ws.close();
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12.1 a 4 MiB frame of nested brackets is refused before it is parsed, without holding the event loop', async () => {
    server = await startServer();
    const bystander = await startBystander(server);
    const hostile = await openProducer(server.inspector!.relayUrl);
    const levels = 2 * 1024 * 1024 - 16;
    const frame = `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // Parsing this takes about 600 ms on an idle machine, all of it holding the event loop that
    // every RTM session shares; reading its depth stops at level 65. So the check is that no
    // JSON.parse ever sees it (deterministic, where a timing would depend on the machine's load).
    const parse = vi.spyOn(JSON, 'parse');
    try {
      hostile.ws.send(frame);
      expect((await hostile.closed).code).toBe(1008);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const parsedHuge = parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length > 1024 * 1024);
      expect(parsedHuge).toHaveLength(0);
    } finally {
      parse.mockRestore();
    }
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12.1 in-process actors with deep, cyclic or throwing context never make the observer throw; the step is shown cut', async () => {
    const inspector = await startInspectorServer({});
    try {
      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 5000; i++) deep = { a: deep };
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const throwing = { toJSON() { throw new Error('no'); } };
      const machine = createMachine({ id: 'odd', context: { deep, cyclic, throwing }, initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } });
      const actor = createActor(machine, { inspect: inspector.inspector.inspect }).start();
      expect(() => actor.send({ type: 'GO' })).not.toThrow();
      expect(actor.getSnapshot().value).toBe('b');
      actor.stop();
      const viewer = await openViewer(inspector.relayUrl.replace('/relay', '/live'));
      await waitFor(() => viewer.items.some((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'GO'), 'the GO step on the page');
      const step = viewer.items.find((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'GO') as { snapshot: { value: string; context: Record<string, unknown> } };
      expect(step.snapshot.value).toBe('b');
      expect(step.snapshot.context.throwing).toBe('[unserialisable]');
      expect(step.snapshot.context.cyclic).toEqual({ self: '[Circular]' });
      expect(JSON.stringify(step.snapshot.context.deep)).toContain('[…]');
      expect(viewer.frames.join('').length).toBeLessThan(200_000);
      viewer.ws.close();
    } finally {
      await inspector.close();
    }
  });
});
