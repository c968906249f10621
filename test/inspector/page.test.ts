/**
 * The inspector page in a real Chromium (R9): a foreign XState machine, reported the way any
 * app would (`createWebSocketInspector` from @statelyai/inspect), is listed, drawn, followed
 * as it changes state, and its delayed transition counts down and fires.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createActor, createMachine, type AnyStateMachine } from 'xstate';
import { startInspectorServer, type InspectorServer } from '../../inspector/server/index.js';
import { launchBrowser, screenshot, secondsIn, watchErrors } from './browser.js';

/** Not one of ours: a door that closes itself 4 s after it was opened. */
const doorMachine = createMachine({
  id: 'door',
  initial: 'closed',
  states: {
    closed: { on: { OPEN: 'open' } },
    open: {
      initial: 'swinging',
      states: {
        swinging: { on: { STOP: 'resting' } },
        resting: {},
      },
      after: { 4000: 'closed' },
      on: { SLAM: 'closed' },
    },
  },
});

describe('R9 inspector page with a foreign machine', () => {
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
    await browser?.close();
    await server?.close();
  });

  /** A foreign machine reported as any app would, opened on the page once it is listed. */
  async function reportedAndOpened(machine: AnyStateMachine, producer: string) {
    const inspector = createWebSocketInspector({ url: `${server.relayUrl}?producer=${producer}` });
    const actor = createActor(machine, { inspect: inspector.inspect }).start();
    // The relay shows a producer's actors under its connection's label.
    const id = `${producer}/${actor.sessionId}`;
    const stop = (): void => {
      actor.stop();
      inspector.stop();
    };
    try {
      await page.goto(`${server.pageUrl}#${encodeURIComponent(id)}`);
      await page.locator(`[data-actor-id="${id}"]`).waitFor({ timeout: 15_000 });
    } catch (error) {
      stop();
      throw error;
    }
    return { actor, id, stop };
  }

  it('R9 draws a machine reported through createWebSocketInspector, follows its events and counts its delay down until it fires', async () => {
    // Listed, drawn (nested states included) and highlighted.
    const { actor: door, stop } = await reportedAndOpened(doorMachine, 'doors');
    try {
      for (const id of ['door', 'door.closed', 'door.open', 'door.open.swinging', 'door.open.resting']) {
        await expect(page.locator(`[data-state-id="${id}"]`).count()).resolves.toBe(1);
      }
      await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 10_000 });
      await expect(page.locator('.edge-label', { hasText: 'after 4 s' }).count()).resolves.toBe(1);
      await expect(page.locator('[data-delay]').count()).resolves.toBe(0);

      // An event moves the highlight.
      door.send({ type: 'OPEN' });
      await page.locator('[data-state-id="door.open.swinging"][data-active="true"]').waitFor({ timeout: 10_000 });
      await expect(page.locator('[data-state-id="door.closed"]').getAttribute('data-active')).resolves.toBeNull();

      // The delayed transition shows its time left, which decreases …
      const countdown = page.locator('[data-delay="4000"]');
      await countdown.waitFor({ timeout: 5_000 });
      const first = secondsIn(await countdown.textContent());
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThanOrEqual(4);
      await page.waitForFunction((before) => {
        const text = document.querySelector('[data-delay="4000"]')?.textContent ?? '';
        const match = /(\d+(?:\.\d+)?)\s*s/.exec(text);
        return match !== null && Number(match[1]) < before;
      }, first, { timeout: 5_000 });
      door.send({ type: 'STOP' });
      await page.locator('[data-state-id="door.open.resting"][data-active="true"]').waitFor({ timeout: 5_000 });
      await screenshot(page, 'inspector-foreign-machine-counting-down');

      // … and then fires: the door is closed again and nothing is pending.
      await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 10_000 });
      await expect(page.locator('[data-state-id="door.open"]').getAttribute('data-active')).resolves.toBeNull();
      await page.locator('[data-delay]').waitFor({ state: 'detached', timeout: 5_000 });
      expect(door.getSnapshot().value).toBe('closed');
      // The log recorded the delayed event that fired.
      await page.locator('.log-row .c-event', { hasText: 'xstate.after.4000.door.open' }).first().waitFor({ timeout: 5_000 });
      await screenshot(page, 'inspector-foreign-machine-fired');
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  });

  it('15.2 a timer that fires and starts again (a poller) is one span of the sequence view, counted, and its steps are left out', async () => {
    const pollerMachine = createMachine({
      id: 'poller',
      initial: 'polling',
      states: {
        polling: { after: { 150: { target: 'polling', reenter: true } }, on: { STOP: 'stopped' } },
        stopped: {},
      },
    });
    const { actor: poller, stop } = await reportedAndOpened(pollerMachine, 'pollers');
    try {
      await page.click('[data-view-tab="sequence"]');
      await page.locator('.log-row .c-event', { hasText: 'xstate.after.150.poller.polling' }).nth(2).waitFor({ timeout: 10_000 });
      poller.send({ type: 'STOP' });
      await page.locator('[data-seq-event="STOP"]').waitFor({ timeout: 10_000 });
      const spans = await page.$$eval('[data-span="delay"][data-delay="150"]', (els) => els.map((el) => el.textContent ?? ''));
      expect(spans).toHaveLength(1);
      const repeats = Number(/×(\d+)/.exec(spans[0]!)?.[1] ?? 0);
      expect(repeats).toBeGreaterThanOrEqual(3);
      await expect(page.locator('[data-seq-event^="xstate.after."]').count()).resolves.toBe(0);
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  });

  it('R9 stays responsive with 100 actors and 10 000 events: the log is virtualised and the DOM stays small', async () => {
    // A server of its own, so that the counts are exact.
    const loaded = await startInspectorServer({});
    await page.goto(loaded.pageUrl);
    const producer = new WebSocket(`${loaded.relayUrl}?producer=bulk`);
    await new Promise((resolve) => producer.on('open', resolve));
    const definition = JSON.stringify(doorMachine.config);
    const ids = Array.from({ length: 100 }, (_, i) => `load-${i}`);
    producer.send(JSON.stringify(ids.map((sessionId) => ({ type: '@xstate.actor', sessionId, name: 'door', definition, snapshot: { status: 'active', value: 'closed', context: { n: 0 } } }))));
    const started = Date.now();
    for (let batch = 0; batch < 20; batch++) {
      const items = [];
      for (let i = 0; i < 500; i++) {
        const n = batch * 500 + i;
        const value = n % 2 === 0 ? { open: 'swinging' } : 'closed';
        items.push({ type: '@xstate.snapshot', sessionId: ids[n % 100], event: { type: n % 2 === 0 ? 'OPEN' : 'SLAM' }, snapshot: { status: 'active', value, context: { n } } });
      }
      producer.send(JSON.stringify(items));
    }
    await page.locator('.log-count', { hasText: /^10000 entries$/ }).waitFor({ timeout: 20_000 });
    const ingestMs = Date.now() - started;
    await expect(page.locator('[data-actor-id^="bulk/load-"]').count()).resolves.toBe(100);
    // Only the rows in view exist, and the whole page stays small.
    const rows = await page.locator('.log-rows .log-row').count();
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(100);
    expect(await page.evaluate(() => document.getElementsByTagName('*').length)).toBeLessThan(3_000);
    // Still responsive: a frame comes quickly, and choosing an actor draws it in its last state
    // (load-57 last received n = 9957, odd: closed).
    expect(await page.evaluate(() => new Promise<number>((resolve) => { const t = performance.now(); requestAnimationFrame(() => resolve(performance.now() - t)); }))).toBeLessThan(500);
    const clickAt = Date.now();
    await page.locator('[data-actor-id="bulk/load-57"]').click();
    await page.locator('[data-state-id="door.closed"][data-active="true"]').waitFor({ timeout: 5_000 });
    const selectMs = Date.now() - clickAt;
    // Searching the log narrows it to that actor's entries.
    await page.locator('.log-search').fill('load-57');
    await page.locator('.log-count', { hasText: /^100 of 10000$/ }).waitFor({ timeout: 5_000 });
    await screenshot(page, 'inspector-100-actors-10000-events');
    console.log(`100 actors / 10 000 events: ingested and shown in ${ingestMs} ms, actor selected in ${selectMs} ms`);
    expect(selectMs).toBeLessThan(3_000);
    producer.close();
    await page.goto('about:blank');
    await loaded.close();
    expect(errors).toEqual([]);
  });
});
