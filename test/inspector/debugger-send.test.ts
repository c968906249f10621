/**
 * Issue 15.1, sending an event to a running actor from the inspector: the page offers the
 * machine's events, takes a JSON payload, and the relay carries the event back to a producer
 * that takes events (createRelayReporter, the page's demo clients); a foreign
 * `@statelyai/inspect` producer is refused as having no return path; the server's own actors
 * only with the access token (or the demo on loopback); hostile requests get a code and harm
 * nobody. Real relay, real sockets, real Chromium.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { assign, createActor, setup } from 'xstate';
import { createRelayReporter, SEND_LIMITS, startInspectorServer, type InspectorServer, type PageFrame } from '../../inspector/server/index.js';
import { launchBrowser, screenshot, watchErrors } from './browser.js';

const doorMachine = setup({ types: { context: {} as { force: number }, events: {} as { type: 'OPEN'; force?: number } | { type: 'SLAM' } } }).createMachine({
  id: 'door',
  initial: 'closed',
  context: { force: 0 },
  states: {
    closed: { on: { OPEN: { target: 'open', actions: assign({ force: ({ event }) => event.force ?? 1 }) } } },
    open: { on: { SLAM: 'closed' } },
  },
});

type Sent = Extract<PageFrame, { t: 'sent' }>;

/** A page's live socket, as a client of the relay: sends requests, collects answers. */
async function openLive(server: InspectorServer, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; frames: PageFrame[]; request(frame: unknown): Promise<Sent> }> {
  const ws = new WebSocket(server.relayUrl.replace('/inspector/relay', '/inspector/live'), { headers });
  const frames: PageFrame[] = [];
  const waiting = new Map<unknown, (frame: Sent) => void>();
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as PageFrame;
    frames.push(frame);
    if (frame.t === 'sent') waiting.get(frame.id)?.(frame);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    request: (frame) =>
      new Promise<Sent>((resolve) => {
        waiting.set((frame as { id?: unknown }).id ?? null, resolve);
        ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
      }),
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('15.1 the return path, over the relay', () => {
  it('15.1 hostile requests are refused with a code, the page socket stays open, and a non-JSON frame closes only that page', async () => {
    const server = await startInspectorServer({});
    const reporter = createRelayReporter({ url: server.relayUrl, label: 'app' });
    const door = createActor(doorMachine, { inspect: reporter.inspect }).start();
    try {
      await waitFor(() => server.inspector.relay.actorCount === 1, 'the reporter');
      const page = await openLive(server);
      const bystander = await openLive(server);
      const id = `app/${door.sessionId}`;
      const refusals: [unknown, string][] = [
        [{ t: 'send', id: 1 }, 'BAD_REQUEST'],
        [{ t: 'send', id: 2, sessionId: id, event: { type: 7 } }, 'BAD_REQUEST'],
        [{ t: 'send', id: 3, sessionId: id, event: { type: 'xstate.after.1000.door.open' } }, 'BAD_REQUEST'],
        [{ t: 'send', id: 4, sessionId: id, event: { type: 'X'.repeat(200) } }, 'BAD_REQUEST'],
        [{ t: 'send', id: 5, sessionId: id, event: { type: 'OPEN', blob: 'x'.repeat(SEND_LIMITS.maxEventBytes) } }, 'EVENT_TOO_LARGE'],
        [{ t: 'send', id: 6, sessionId: id, event: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) }, 'BAD_REQUEST'],
        [{ t: 'send', id: 7, sessionId: id, event: { type: 'OPEN', deep: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) } }, 'EVENT_TOO_LARGE'],
        [{ t: 'send', id: 8, sessionId: 'app/x:999', event: { type: 'OPEN' } }, 'UNKNOWN_ACTOR'],
        [{ t: 'send', id: 9, sessionId: 'session:alice', event: { type: 'LOGOUT' } }, 'UNKNOWN_ACTOR'],
      ];
      for (const [frame, code] of refusals) {
        const answer = await page.request(frame);
        expect(answer, JSON.stringify(frame).slice(0, 80)).toMatchObject({ ok: false, code });
      }
      expect(door.getSnapshot().value).toBe('closed');
      // Bounded in rate: a burst gets TOO_MANY_REQUESTS past the bucket, and nothing breaks.
      const burst = await Promise.all(Array.from({ length: SEND_LIMITS.perSecond + 10 }, (_, i) => page.request({ t: 'send', id: 100 + i, sessionId: id, event: { type: 'SLAM' } })));
      expect(burst.filter((a) => a.code === 'TOO_MANY_REQUESTS').length).toBeGreaterThanOrEqual(9);
      expect(page.ws.readyState).toBe(WebSocket.OPEN);
      // Not JSON: that page is closed (1007), the other one still sends.
      const closed = new Promise<number>((resolve) => page.ws.once('close', (code) => resolve(code)));
      page.ws.send('{not json');
      await expect(closed).resolves.toBe(1007);
      await expect(bystander.request({ t: 'send', id: 1, sessionId: id, event: { type: 'OPEN', force: 3 } })).resolves.toMatchObject({ ok: true });
      await waitFor(() => door.getSnapshot().value === 'open', 'the door to open');
      expect(door.getSnapshot().context.force).toBe(3);
      bystander.ws.close();
    } finally {
      door.stop();
      await reporter.close();
      await server.close();
    }
  });

  it('15.1 the server\'s own (in-process) actors: refused without the access token or the demo, delivered with the token', async () => {
    const open = await startInspectorServer({});
    const guarded = await startInspectorServer({ accessToken: 'inspector-secret-15' });
    const actors = [open, guarded].map((server) => createActor(doorMachine, { inspect: server.inspector.inspect }).start());
    try {
      const anonymous = await openLive(open);
      await expect(anonymous.request({ t: 'send', id: 1, sessionId: actors[0]!.sessionId, event: { type: 'OPEN' } })).resolves.toMatchObject({ ok: false, code: 'REMOTE_CONTROL_OFF' });
      expect(actors[0]!.getSnapshot().value).toBe('closed');
      expect(anonymous.frames[0]).toMatchObject({ t: 'hello', serverEvents: false });
      anonymous.ws.close();

      const signedIn = await openLive(guarded, { authorization: 'Bearer inspector-secret-15' });
      expect(signedIn.frames[0]).toMatchObject({ t: 'hello', serverEvents: true });
      await expect(signedIn.request({ t: 'send', id: 1, sessionId: actors[1]!.sessionId, event: { type: 'OPEN', force: 9 } })).resolves.toMatchObject({ ok: true });
      expect(actors[1]!.getSnapshot()).toMatchObject({ value: 'open', context: { force: 9 } });
      signedIn.ws.close();
      // Without the token the live socket is not opened at all.
      await expect(openLive(guarded)).rejects.toThrow(/401/);
    } finally {
      for (const actor of actors) actor.stop();
      await Promise.all([open.close(), guarded.close()]);
    }
  });
});

describe('15.1 sending an event from the page', () => {
  let server: InspectorServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startInspectorServer({}), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = watchErrors(page);
  });

  afterAll(async () => {
    expect(errors).toEqual([]);
    await browser?.close();
    await server?.close();
  });

  it('15.1 the page offers the machine\'s events, sends one with a JSON payload to a reporter\'s actor, and the chart follows', async () => {
    const reporter = createRelayReporter({ url: server.relayUrl, label: 'app' });
    const door = createActor(doorMachine, { inspect: reporter.inspect }).start();
    try {
      const id = `app/${door.sessionId}`;
      await page.goto(`${server.pageUrl}#${encodeURIComponent(id)}`);
      await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 15_000 });
      const panel = page.locator('.send-event');
      await expect(panel.getAttribute('data-events-now')).resolves.toBe('OPEN');
      await expect(panel.getAttribute('data-events')).resolves.toBe('OPEN SLAM');
      await expect(page.locator('[data-send="type"]').inputValue()).resolves.toBe('OPEN');
      // A payload that is not JSON is caught on the page.
      await page.locator('[data-send="payload"]').fill('{ force: 4 }');
      await page.locator('[data-send="submit"]').click();
      await page.locator('[data-send-result="refused"][data-code="BAD_REQUEST"]').waitFor({ timeout: 5_000 });
      await page.locator('[data-send="payload"]').fill('{ "force": 4 }');
      await page.locator('[data-send="submit"]').click();
      await page.locator('[data-send-result="ok"]', { hasText: 'Sent OPEN.' }).waitFor({ timeout: 5_000 });
      await waitFor(() => door.getSnapshot().value === 'open', 'the door to open');
      expect(door.getSnapshot().context.force).toBe(4);
      await page.locator('[data-state-id="door.open"][data-active="true"]').waitFor({ timeout: 5_000 });
      await expect(panel.getAttribute('data-events-now')).resolves.toBe('SLAM');
      await screenshot(page, 'debugger-send-event');
    } finally {
      door.stop();
      await reporter.close();
    }
  });

  it('15.1 for a foreign @statelyai/inspect producer the page says its protocol has no return path', async () => {
    const inspector = createWebSocketInspector({ url: `${server.relayUrl}?producer=foreign` });
    const door = createActor(doorMachine, { inspect: inspector.inspect }).start();
    try {
      const id = `foreign/${door.sessionId}`;
      await page.goto(`${server.pageUrl}#${encodeURIComponent(id)}`);
      await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 15_000 });
      await page.locator('[data-send="submit"]').click();
      const result = page.locator('[data-send-result="refused"][data-code="NO_RETURN_PATH"]');
      await result.waitFor({ timeout: 5_000 });
      await expect(result.textContent()).resolves.toContain('@statelyai/inspect protocol, which has no way to send events back');
      expect(door.getSnapshot().value).toBe('closed');
    } finally {
      door.stop();
      inspector.stop();
    }
  });
});
