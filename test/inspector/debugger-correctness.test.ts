/**
 * Issue 15.4, the correctness of what the inspector shows: actors of a producer that went away
 * are marked stale (and fresh again when it comes back); reporters register their actors again
 * after a relay restart; the log is in time order; the header says when the chart shows the
 * past; a step inside a state does not repeat the reason of the transition before it.
 * Real relay, real sockets, real Chromium.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createActor, createMachine } from 'xstate';
import { createRelayReporter, Relay, startInspectorServer, type ActorMessage, type InspectorServer, type PageFrame } from '../../inspector/server/index.js';
import { launchBrowser, screenshot, watchErrors } from './browser.js';

const doorMachine = createMachine({
  id: 'door',
  initial: 'closed',
  states: { closed: { on: { OPEN: 'open' } }, open: { on: { SLAM: 'closed' } } },
});

/** The shape of our connection machine, as far as the reason column is concerned. */
const linkMachine = createMachine({
  id: 'connection',
  initial: 'DISCONNECTED',
  states: {
    DISCONNECTED: { on: { LOGIN: 'CONNECTING' } },
    CONNECTING: { on: { LINK_UP: 'CONNECTED' } },
    CONNECTED: { initial: 'linkUp', states: { linkUp: { on: { LINK_DOWN: 'linkLost' } }, linkLost: {} }, on: { GRACE_OVER: 'RECONNECTING' } },
    RECONNECTING: {},
  },
});

async function openProducer(relayUrl: string, label: string): Promise<WebSocket> {
  const ws = new WebSocket(`${relayUrl}?producer=${label}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

async function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const door = (sessionId: string, value = 'closed') => ({ type: '@xstate.actor', sessionId, name: 'door', definition: JSON.stringify(doorMachine.config), snapshot: { status: 'active', value, context: {} } });

describe('15.4 the relay tells pages which producers are gone', () => {
  it('15.4 a producer that disconnects is announced to every page, and to a page opened later, until it reconnects', () => {
    const relay = new Relay();
    const frames: PageFrame[] = [];
    relay.addViewer({ send: (frame) => frames.push(frame) });
    const tab = relay.addProducer('tab-a');
    expect(tab.publish(door('x:0') as ActorMessage)).toEqual({ ok: true });
    tab.release();
    const gone = frames.filter((f) => f.t === 'producer');
    expect(gone).toMatchObject([{ t: 'producer', label: 'tab-a', connected: false }]);
    // The actor's registration went out before the news that its producer is gone.
    expect(frames.findIndex((f) => f.t === 'items')).toBeLessThan(frames.findIndex((f) => f.t === 'producer'));

    const late: PageFrame[] = [];
    relay.addViewer({ send: (frame) => late.push(frame) });
    expect(late.map((f) => f.t)).toEqual(['hello', 'items', 'producer']);
    expect(relay.goneProducers()).toEqual(['tab-a']);

    relay.addProducer('tab-a');
    expect(frames.at(-1)).toMatchObject({ t: 'producer', label: 'tab-a', connected: true });
    expect(relay.goneProducers()).toEqual([]);
  });
});

describe('15.4 reporters after a relay restart', () => {
  it('15.4 createRelayReporter registers its actors again, with definition and current state, when the relay it reconnects to restarted', async () => {
    let server = await startInspectorServer({});
    const port = server.port;
    const reporter = createRelayReporter({ url: server.relayUrl, label: 'app' });
    const actor = createActor(doorMachine, { inspect: reporter.inspect }).start();
    try {
      actor.send({ type: 'OPEN' });
      await waitFor(() => server.inspector.relay.replay().some((m) => m.type === '@xstate.snapshot' && m.event.type === 'OPEN'), 'the first relay to see OPEN');
      await server.close();
      server = await startInspectorServer({ port });
      // The reporter retries every second; the new relay then knows the actor as it is now.
      await waitFor(() => server.inspector.relay.actorCount === 1, 'the reporter to register again', 15_000);
      const [registration] = server.inspector.relay.replay() as ActorMessage[];
      expect(registration).toMatchObject({ type: '@xstate.actor', sessionId: `app/${actor.sessionId}`, name: 'app/door' });
      expect(JSON.parse(registration!.definition ?? 'null')).toMatchObject({ id: 'door' });
      expect(registration!.snapshot).toMatchObject({ value: 'open' });
      // And what follows is shown on a chart, not as "no statechart definition".
      actor.send({ type: 'SLAM' });
      await waitFor(() => server.inspector.relay.replay().some((m) => m.type === '@xstate.snapshot' && m.event.type === 'SLAM'), 'the new relay to see SLAM');
    } finally {
      actor.stop();
      await reporter.close();
      await server.close();
    }
  });
});

describe('15.4 what the page shows', () => {
  let server: InspectorServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startInspectorServer({}), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = watchErrors(page);
    await page.goto(server.pageUrl);
    await page.locator('.live-status[data-live="true"]').waitFor({ timeout: 15_000 });
  });

  afterAll(async () => {
    expect(errors).toEqual([]);
    await browser?.close();
    await server?.close();
  });

  it('15.4 the actors of a producer that disconnected are marked stale, on this page and on one opened later, and fresh again when it reconnects', async () => {
    let tab = await openProducer(server.relayUrl, 'tab-gone');
    tab.send(JSON.stringify([door('x:0')]));
    const item = page.locator('[data-actor-id="tab-gone/x:0"]');
    await item.waitFor({ timeout: 10_000 });
    await expect(item.getAttribute('data-stale')).resolves.toBeNull();

    await closeSocket(tab);
    await page.locator('[data-actor-id="tab-gone/x:0"][data-stale="true"]').waitFor({ timeout: 10_000 });
    await expect(item.locator('.stale-badge').textContent()).resolves.toBe('stale');
    await item.click();
    await expect(page.locator('[data-field="stale"]').textContent()).resolves.toContain('producer disconnected');
    await screenshot(page, 'debugger-stale-actor');

    const later = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await later.goto(server.pageUrl);
      await later.locator('[data-actor-id="tab-gone/x:0"][data-stale="true"]').waitFor({ timeout: 15_000 });
    } finally {
      await later.close();
    }

    tab = await openProducer(server.relayUrl, 'tab-gone');
    await page.locator('[data-actor-id="tab-gone/x:0"]:not([data-stale])').waitFor({ timeout: 10_000 });
    await closeSocket(tab);
  });

  it('15.4 the log is in time order when a step made earlier arrives later, from another producer', async () => {
    const [early, late] = await Promise.all([openProducer(server.relayUrl, 'order-a'), openProducer(server.relayUrl, 'order-b')]);
    try {
      const now = Date.now();
      early.send(JSON.stringify([door('x:0'), { type: '@xstate.snapshot', sessionId: 'x:0', createdAt: String(now - 1_000), event: { type: 'OPEN' }, snapshot: { status: 'active', value: 'open', context: {} } }]));
      await page.locator('.log-row[data-actor="order-a/x:0"]').first().waitFor({ timeout: 10_000 });
      // Made two seconds before the first, delivered after it.
      late.send(JSON.stringify([door('x:0'), { type: '@xstate.snapshot', sessionId: 'x:0', createdAt: String(now - 3_000), event: { type: 'OPEN' }, snapshot: { status: 'active', value: 'open', context: {} } }]));
      await page.locator('.log-row[data-actor="order-b/x:0"]').first().waitFor({ timeout: 10_000 });
      const rows = await page.locator('.log-rows .log-row').evaluateAll((els) => els.map((el) => ({ top: parseFloat((el as HTMLElement).style.top), at: Number(el.getAttribute('data-at')), actor: el.getAttribute('data-actor') })));
      rows.sort((a, b) => a.top - b.top);
      const ats = rows.map((r) => r.at);
      expect(ats).toEqual([...ats].sort((a, b) => a - b));
      const ours = rows.filter((r) => r.actor?.startsWith('order-')).map((r) => r.actor);
      expect(ours).toEqual(['order-b/x:0', 'order-a/x:0']);
    } finally {
      await Promise.all([closeSocket(early), closeSocket(late)]);
    }
  });

  it('15.4 a step inside a state (LINK_DOWN) shows no reason; a change of state shows its own', async () => {
    const producer = await openProducer(server.relayUrl, 'reasons');
    try {
      const step = (type: string, value: unknown, reason: string | null) => ({ type: '@xstate.snapshot', sessionId: 'x:0', event: { type }, snapshot: { status: 'active', value, context: { uid: 'ria', reason } } });
      producer.send(JSON.stringify([
        { type: '@xstate.actor', sessionId: 'x:0', name: 'connection', definition: JSON.stringify(linkMachine.config), snapshot: { status: 'active', value: 'DISCONNECTED', context: { uid: null, reason: null } } },
        step('LOGIN', 'CONNECTING', 'LOGIN'),
        step('LINK_UP', { CONNECTED: 'linkUp' }, 'LOGIN_SUCCESS'),
        step('LINK_DOWN', { CONNECTED: 'linkLost' }, 'LOGIN_SUCCESS'),
        step('GRACE_OVER', 'RECONNECTING', 'INTERRUPTED'),
      ]));
      await page.locator('.log-search').fill('reasons/x:0');
      await page.locator('.log-row[data-actor="reasons/x:0"] .c-event', { hasText: 'GRACE_OVER' }).waitFor({ timeout: 10_000 });
      const reasonOf = (event: string) => page.locator('.log-row[data-actor="reasons/x:0"]', { has: page.locator('.c-event', { hasText: new RegExp(`^${event}$`) }) }).locator('.c-reason').textContent();
      await expect(reasonOf('LOGIN')).resolves.toBe('LOGIN');
      await expect(reasonOf('LINK_UP')).resolves.toBe('LOGIN_SUCCESS');
      await expect(reasonOf('LINK_DOWN')).resolves.toBe('');
      await expect(reasonOf('GRACE_OVER')).resolves.toBe('INTERRUPTED');
      await page.locator('.log-search').fill('');
    } finally {
      await closeSocket(producer);
    }
  });

  it('15.4 the header says when the chart shows a past step, and returns to now when clicked', async () => {
    const producer = await openProducer(server.relayUrl, 'past');
    try {
      producer.send(JSON.stringify([
        door('x:0'),
        { type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'OPEN' }, snapshot: { status: 'active', value: 'open', context: {} } },
        { type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'SLAM' }, snapshot: { status: 'active', value: 'closed', context: {} } },
      ]));
      await page.locator('[data-actor-id="past/x:0"]').click();
      await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 10_000 });
      const pill = page.locator('header .view-status');
      await expect(pill.getAttribute('data-view')).resolves.toBe('live');
      await page.locator('.timeline button[title="previous step"]').click();
      await page.locator('header .view-status[data-view="past"]').waitFor({ timeout: 5_000 });
      await expect(pill.textContent()).resolves.toMatch(/^viewing the past: \d\d:\d\d:\d\d\.\d{3} \(step 1 of 2\)/);
      await page.locator('[data-state-id="door.open"][data-active="true"]').waitFor({ timeout: 5_000 });
      await screenshot(page, 'debugger-viewing-the-past');
      await pill.click();
      await page.locator('header .view-status[data-view="live"]').waitFor({ timeout: 5_000 });
      await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 5_000 });
    } finally {
      await closeSocket(producer);
    }
  });
});
