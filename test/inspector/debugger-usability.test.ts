/**
 * Issue 15.5, the inspector as people use it, in a real Chromium: the chart fits its pane with
 * readable text and pans with a hint; the zoom buttons never cover the title; a 390 px wide
 * window does not overflow and keeps the actor list in view; the log pauses and clears; a log
 * row does not start with the repeated `timing`; dark mode follows the system; copying says so.
 * With RTM_DOCS_SCREENSHOTS=1 the screenshots are also written to docs/.
 */
import { copyFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createActor } from 'xstate';
import { startInspectorServer, type InspectorServer } from '../../inspector/server/index.js';
import { connectionMachine } from '../../machines/index.js';
import { ARTIFACTS, launchBrowser, screenshot, watchErrors } from './browser.js';

async function shoot(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  if (process.env.RTM_DOCS_SCREENSHOTS === '1') copyFileSync(`${ARTIFACTS}/${name}.png`, `docs/${name}.png`);
}

/** Smallest rendered text size (px) among the chart's state names and arrow labels. */
function smallestChartText(page: Page): Promise<number> {
  return page.evaluate(() => {
    const zoom = Number(document.querySelector('.chart')?.getAttribute('data-zoom'));
    const sizes = [...document.querySelectorAll('.state-name, .edge-label')].map((el) => parseFloat(getComputedStyle(el).fontSize) * zoom);
    return Math.min(...sizes);
  });
}

describe('15.5 usability of the inspector page', () => {
  let server: InspectorServer;
  let browser: Browser;
  let errors: string[];
  /** The session id of our connection machine, reported in-process. */
  const actor = { sessionId: '' };

  beforeAll(async () => {
    [server, browser] = await Promise.all([startInspectorServer({}), launchBrowser()]);
    // Our own connection machine, reported in-process: the chart people open first.
    const connection = createActor(connectionMachine, { input: {}, inspect: server.inspector.inspect }).start();
    actor.sessionId = connection.sessionId;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(width: number, height: number, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height }, colorScheme });
    const page = await context.newPage();
    errors = watchErrors(page);
    await page.goto(`${server.pageUrl}#${encodeURIComponent(actor.sessionId)}`);
    await page.locator('[data-state-id="connection.DISCONNECTED"][data-active="true"]').waitFor({ timeout: 15_000 });
    return page;
  }

  it('15.5 at fit the chart fills its pane with text of at least 10.5 px, and a chart larger than that pans by dragging, with a hint', async () => {
    const page = await openPage(1400, 900);
    try {
      await page.locator('[data-zoom="fit"]').click();
      expect(await smallestChartText(page)).toBeGreaterThanOrEqual(10.5);
      const fill = await page.evaluate(() => {
        const scroll = document.querySelector('.chart-scroll') as HTMLElement;
        const canvas = document.querySelector('.chart-canvas') as HTMLElement;
        const box = canvas.getBoundingClientRect();
        return Math.max(box.width / scroll.clientWidth, box.height / scroll.clientHeight);
      });
      expect(fill).toBeGreaterThan(0.9);
      await shoot(page, 'inspector-fit');
      // The connection machine is taller than the pane at a readable size: it pans.
      await page.locator('.chart-scroll[data-overflow="true"]').waitFor({ timeout: 5_000 });
      await expect(page.locator('.pan-hint').isVisible()).resolves.toBe(true);
      const box = (await page.locator('.chart-scroll').boundingBox())!;
      const before = await page.locator('.chart-scroll').evaluate((el) => el.scrollLeft + el.scrollTop);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 - 150, box.y + box.height / 2 - 150, { steps: 5 });
      await page.mouse.up();
      const after = await page.locator('.chart-scroll').evaluate((el) => el.scrollLeft + el.scrollTop);
      expect(after).toBeGreaterThan(before);
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('15.5 at 390 px wide nothing overflows the window, the zoom buttons do not cover the title, and the actor list is in view', async () => {
    const page = await openPage(390, 844);
    try {
      await page.locator('[data-zoom="fit"]').click();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      const [caption, zoom] = await Promise.all([page.locator('.chart-caption').boundingBox(), page.locator('.zoom-bar').boundingBox()]);
      expect(caption!.x + caption!.width).toBeLessThanOrEqual(zoom!.x);
      const list = (await page.locator(`[data-actor-id="${actor.sessionId}"]`).boundingBox())!;
      expect(list.y + list.height).toBeLessThanOrEqual(844);
      expect(list.x + list.width).toBeLessThanOrEqual(390);
      expect(await smallestChartText(page)).toBeGreaterThanOrEqual(10.5);
      await shoot(page, 'inspector-390px');
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('15.5 the log pauses (new entries counted, rows still) and resumes, and clears; a row does not start with timing', async () => {
    const page = await openPage(1400, 900);
    const producer = new WebSocket(`${server.relayUrl}?producer=log`);
    await new Promise((resolve) => producer.once('open', resolve));
    const step = (n: number) => ({ type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'TICK' }, snapshot: { status: 'active', value: 'a', context: { timing: { loginTimeoutMs: 6000, interruptionGraceMs: 4000 }, uid: 'una', n } } });
    try {
      producer.send(JSON.stringify([{ type: '@xstate.actor', sessionId: 'x:0', name: 'ticker' }, step(1), step(2)]));
      await page.locator('.log-search').fill('log/x:0');
      await page.locator('.log-count', { hasText: /^2 of \d+$/ }).waitFor({ timeout: 10_000 });
      const context = await page.locator('.log-row[data-actor="log/x:0"] .c-context').first().textContent();
      expect(context?.startsWith('{"uid":"una","n":1')).toBe(true);
      expect(context).toContain('"timing"');

      await page.locator('[data-log="pause"]').click();
      await expect(page.locator('[data-log="pause"]').getAttribute('aria-pressed')).resolves.toBe('true');
      producer.send(JSON.stringify([step(3), step(4), step(5)]));
      await page.locator('.log-count', { hasText: /^paused · 3 new$/ }).waitFor({ timeout: 10_000 });
      await expect(page.locator('.log-row[data-actor="log/x:0"]').count()).resolves.toBe(2);
      await page.locator('[data-log="pause"]').click();
      await page.locator('.log-count', { hasText: /^5 of \d+$/ }).waitFor({ timeout: 5_000 });
      // The rows may be drawn a frame after the count.
      await page.locator('.log-row[data-actor="log/x:0"]').nth(4).waitFor({ timeout: 5_000 });
      await expect(page.locator('.log-row[data-actor="log/x:0"]').count()).resolves.toBe(5);

      await page.locator('[data-log="clear"]').click();
      await page.locator('.log-count', { hasText: /^0 entries$/ }).waitFor({ timeout: 5_000 });
      await expect(page.locator('.log-rows .log-row').count()).resolves.toBe(0);
      // The charts keep their history: the timeline still steps through the actor's snapshots.
      await page.locator('[data-actor-id="log/x:0"]').click();
      await expect(page.locator('.timeline-label').textContent()).resolves.toMatch(/step 5 \/ 5/);
      expect(errors).toEqual([]);
    } finally {
      producer.close();
      await page.context().close();
    }
  });

  it('15.5 dark mode follows prefers-color-scheme', async () => {
    const page = await openPage(1400, 900, 'dark');
    try {
      const colours = await page.evaluate(() => ({ body: getComputedStyle(document.body).backgroundColor, panel: getComputedStyle(document.querySelector('aside.left')!).backgroundColor, text: getComputedStyle(document.body).color }));
      expect(colours).toEqual({ body: 'rgb(15, 20, 27)', panel: 'rgb(22, 28, 37)', text: 'rgb(227, 232, 239)' });
      await shoot(page, 'inspector-dark');
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('15.5 copying the definition says so on the button, and the clipboard holds it', async () => {
    const page = await openPage(1400, 900);
    try {
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.pageUrl).origin });
      const button = page.locator('.copy-definition');
      await button.click();
      await page.locator('.copy-definition[data-copied="true"]', { hasText: 'Copied ✓' }).waitFor({ timeout: 5_000 });
      expect(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))).toMatchObject({ id: 'connection' });
      await page.locator('.copy-definition[data-copied="false"]', { hasText: 'Copy definition for Stately' }).waitFor({ timeout: 5_000 });
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });
});
