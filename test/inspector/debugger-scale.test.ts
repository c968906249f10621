/**
 * Issue 15.6, scale: 1 000 actors and a stream of events far larger than the page's history
 * bound. The page keeps its history within the bound in bytes (never dropping an actor's
 * current state), lists every actor with its latest state (also those scrolled out of view
 * while they stepped), and stays usable: select, chart, log search, sequence view. No timing
 * is asserted here; frame times and the ingest rate are measured by `npm run bench`
 * (scenario `inspector`).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInspectorServer } from '../../inspector/server/index.js';
import { sharedBrowser, screenshot, watchErrors } from './browser.js';

const ACTORS = 1_000;
const EVENTS = 12_000;
const HISTORY_BYTES = 1024 * 1024;

const definition = JSON.stringify({
  id: 'bench',
  initial: 'idle',
  states: { idle: { on: { START: 'running' } }, running: { initial: 'fast', states: { fast: { on: { SLOW: 'slow' } }, slow: {} }, on: { STOP: 'idle' } } },
});
const values = ['idle', { running: 'fast' }, { running: 'slow' }];
const valueText = ['idle', 'running.fast', 'running.slow'];
const pad = 'p'.repeat(300);

const attr = (page: Page, name: string): Promise<number> => page.evaluate((n) => Number(document.getElementById('app')?.getAttribute(n)), name);

const chromium = sharedBrowser();


describe('15.6 the page at scale', () => {
  it('15.6 1 000 actors and a stream over the history bound: history stays within its bytes, every actor keeps its current state, the page stays usable', async () => {
    const server = await startInspectorServer({ port: 0 });
    const producer = new WebSocket(`${server.relayUrl}?producer=scale`);
    const page = await chromium.current.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = watchErrors(page);
    try {
      await page.goto(`${server.pageUrl}?historyBytes=${HISTORY_BYTES}`);
      await page.waitForSelector('.live-status[data-live="true"]');
      expect(await attr(page, 'data-history-max-bytes')).toBe(HISTORY_BYTES);
      if (producer.readyState !== WebSocket.OPEN) await new Promise((resolve, reject) => producer.once('open', resolve).once('error', reject));
      const send = (items: unknown[]): Promise<void> => new Promise((resolve, reject) => producer.send(JSON.stringify(items), (e) => (e ? reject(e) : resolve())));
      const ids = Array.from({ length: ACTORS }, (_, i) => `x:${i}`);
      for (let i = 0; i < ACTORS; i += 250) {
        await send(ids.slice(i, i + 250).map((sessionId, k) => ({ type: '@xstate.actor', sessionId, name: `scale-${i + k}`, definition, snapshot: { status: 'active', value: 'idle', context: { uid: `u${i + k}`, n: -1 } } })));
      }
      // Stream, never more than a window ahead of the page (a page that falls too far behind is
      // dropped by the relay and starts again from its history: not what is tested here).
      let sent = 0;
      while (sent < EVENTS) {
        while (sent - ((await attr(page, 'data-ingested')) - ACTORS) > 3_000) await new Promise((r) => setTimeout(r, 20));
        const batch = [];
        for (let k = 0; k < 250 && sent < EVENTS; k++, sent++) {
          const actor = sent % ACTORS;
          const step = Math.floor(sent / ACTORS);
          batch.push({ type: '@xstate.snapshot', sessionId: ids[actor], event: { type: `STEP_${step}` }, snapshot: { status: 'active', value: values[(step + 1) % 3], context: { uid: `u${actor}`, n: step, pad } } });
        }
        await send(batch);
      }
      await page.waitForFunction((n) => Number(document.getElementById('app')?.getAttribute('data-ingested')) >= n, ACTORS + EVENTS, { timeout: 120_000, polling: 100 });

      // Bounded by bytes: far less than was sent, within the bound, the oldest steps gone.
      const historyBytes = await attr(page, 'data-history-bytes');
      const logLength = await attr(page, 'data-log-length');
      expect(EVENTS * pad.length).toBeGreaterThan(3 * HISTORY_BYTES);
      expect(historyBytes).toBeGreaterThan(0);
      expect(historyBytes).toBeLessThanOrEqual(HISTORY_BYTES);
      expect(logLength).toBeGreaterThan(0);
      expect(logLength).toBeLessThan(EVENTS);
      expect(await attr(page, 'data-actor-count')).toBe(ACTORS);
      const lastStep = Math.floor((EVENTS - 1) / ACTORS);

      // Every actor shows its latest state: one at the top, one that stepped while out of view.
      const stateOf = (i: number) => page.textContent(`[data-actor-id="scale/x:${i}"] .actor-state`);
      await page.waitForFunction((t) => document.querySelector('[data-actor-id="scale/x:0"] .actor-state')?.textContent?.trim() === t, valueText[(lastStep + 1) % 3]);
      await page.$eval(`[data-actor-id="scale/x:${ACTORS - 1}"]`, (el) => el.scrollIntoView());
      const lastActorStep = Math.floor((EVENTS - 1 - (ACTORS - 1)) / ACTORS);
      await page.waitForFunction(([id, t]) => document.querySelector(`[data-actor-id="${id}"] .actor-state`)?.textContent?.trim() === t, [`scale/x:${ACTORS - 1}`, valueText[(lastActorStep + 1) % 3]] as const);
      expect((await stateOf(ACTORS - 1))?.trim()).toBe(valueText[(lastActorStep + 1) % 3]);

      // Usable: select an actor, see its chart and timeline; search the log; the sequence view.
      await page.click(`[data-actor-id="scale/x:${ACTORS - 1}"]`);
      await page.waitForSelector(`[data-actor-id="scale/x:${ACTORS - 1}"][data-selected="true"]`);
      await page.waitForSelector('[data-state-id="bench.running"]');
      expect(Number(await page.getAttribute('.timeline', 'data-count'))).toBeGreaterThanOrEqual(1);
      await page.fill('.log-search', `STEP_${lastStep}`);
      await page.waitForFunction(() => / of /.test(document.querySelector('.log-count')?.textContent ?? ''));
      const shown = await page.$$eval('.log-row[data-actor] .c-event', (els) => els.map((e) => e.textContent));
      expect(shown.length).toBeGreaterThan(0);
      for (const text of shown) expect(text).toBe(`STEP_${lastStep}`);
      await page.click('[data-view-tab="sequence"]');
      await page.waitForSelector(`[data-lane-id="scale/x:${ACTORS - 1}"]`);
      await page.click('[data-view-tab="chart"]');
      await screenshot(page, 'inspector-scale');
      expect(errors).toEqual([]);
    } finally {
      producer.close();
      await page.close();
      await server.close();
    }
  }, 180_000);
});
