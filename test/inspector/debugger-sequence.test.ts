/**
 * Issue 15.2, the sequence view: a real client and server reconnect (the link cut at a
 * FaultProxy for longer than the grace period) drawn as lanes — the client's connection and
 * link machines, grouped under their producer, and the server's session machine under the
 * server — with the messages between the client's machines, a span for the lost link, the
 * grace and the presence timers as spans, and every step in time order from top to bottom.
 * With RTM_DOCS_SCREENSHOTS=1 the screenshot is also written to docs/inspector-sequence.png.
 */
import { copyFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRelayReporter } from '../../inspector/server/index.js';
import { RtmClient, type Timing } from '../../src/index.js';
import { createRtmServer } from '../../src/server/index.js';
import { createFaultProxy } from '../../src/testing/index.js';
import { ARTIFACTS, sharedBrowser, screenshot, watchErrors } from './browser.js';

const timing: Partial<Timing> = { loginTimeoutMs: 2000, interruptionGraceMs: 400, presenceTimeoutMs: 1500 };

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The top (px) of each element matching `selector`, in document order, with its event type. */
function rows(page: Page, selector: string): Promise<{ type: string; top: number; at: number }[]> {
  return page.$$eval(selector, (els) => els.map((e) => ({ type: e.getAttribute('data-seq-event') ?? '', top: parseFloat((e as HTMLElement).style.top), at: Number(e.getAttribute('data-at')) })));
}

const chromium = sharedBrowser();


describe('15.2 the sequence view', () => {
  it('15.2 a real reconnect (cut at a FaultProxy) reads top to bottom: lanes grouped by producer and server, LINK_LOST and grace spans, the presence timer, messages between lanes, in time order', async () => {
    const server = await createRtmServer({ port: 0, timing, heartbeat: { intervalMs: 100, timeoutMs: 1000 } });
    const proxy = await createFaultProxy({ target: server.url });
    const reporter = createRelayReporter({ url: server.inspector!.relayUrl, label: 'app' });
    const client = new RtmClient({ url: proxy.url, timing, inspect: reporter.inspect });
    const connection = `app/${client.actor.sessionId}`;
    const page = await chromium.current.newPage({ viewport: { width: 1400, height: 1200 } });
    const errors = watchErrors(page);
    try {
      await page.goto(`${server.inspector!.pageUrl}#${encodeURIComponent(connection)}`);
      await page.waitForSelector(`[data-actor-id="${connection}"][data-selected="true"]`);
      await page.click('[data-view-tab="sequence"]');
      await client.login({ uid: 'seq-sam', token: server.createToken('seq-sam') });
      proxy.silent();
      proxy.cut();
      await waitFor(() => client.connectionState === 'RECONNECTING', 'RECONNECTING after the grace');
      proxy.restore();
      await waitFor(() => client.connectionState === 'CONNECTED', 'CONNECTED after the restore');

      // The lanes: the client's connection and link under its producer, the session under the server.
      await page.waitForSelector('[data-lane-id][title^="x:"]');
      const lanes = await page.$$eval('[data-lane-id]', (els) => els.map((e) => ({ id: e.getAttribute('data-lane-id')!, name: e.querySelector('strong')!.textContent!, group: e.getAttribute('data-lane-group-key')! })));
      expect(lanes.map((l) => l.name)).toEqual(['app/connection', 'app/link', 'session:seq-sam']);
      expect(lanes.map((l) => l.group)).toEqual(['producer app', 'producer app', 'server']);
      expect(await page.$$eval('[data-lane-group]', (els) => els.map((e) => e.getAttribute('data-lane-group')))).toEqual(['producer app', 'server']);
      const linkLane = lanes[1]!.id;
      const session = lanes[2]!.id;

      // The server's session lane waits for RESUMED; the client's for its second LINK_UP.
      await page.waitForSelector(`[data-seq-event="RESUMED"][data-lane="${session}"]`);
      const clientRows = await rows(page, `.seq-event[data-lane="${connection}"]`);
      const order = clientRows.map((r) => r.type).filter((t) => t !== 'xstate.init');
      expect(order).toEqual(['LOGIN', 'LINK_UP', 'LINK_DOWN', 'xstate.after.interruptionGrace.connection.CONNECTED.linkLost', 'LINK_UP']);
      const tops = clientRows.map((r) => r.top);
      expect([...tops].sort((a, b) => a - b)).toEqual(tops);
      // One time axis across lanes: every row further down happened no earlier.
      const all = await rows(page, '.seq-event');
      const byTop = [...all].sort((a, b) => a.top - b.top);
      for (let i = 1; i < byTop.length; i++) expect(byTop[i]!.at).toBeGreaterThanOrEqual(byTop[i - 1]!.at);
      const sessionRows = (await rows(page, `.seq-event[data-lane="${session}"]`)).map((r) => r.type);
      expect(sessionRows.indexOf('LINK_LOST')).toBeGreaterThanOrEqual(0);
      expect(sessionRows.indexOf('LINK_LOST')).toBeLessThan(sessionRows.indexOf('RESUMED'));
      const down = clientRows.find((r) => r.type === 'LINK_DOWN')!;
      const back = clientRows.filter((r) => r.type === 'LINK_UP')[1]!;
      const resumed = (await rows(page, `.seq-event[data-lane="${session}"][data-seq-event="RESUMED"]`))[0]!;
      expect(resumed.at).toBeLessThanOrEqual(back.at);
      expect(resumed.top).toBeLessThanOrEqual(back.top);

      // Spans: the lost link, from LINK_DOWN to the LINK_UP that ended it; the 400 ms grace,
      // which fired; the presence timers (the client's in RECONNECTING, the server's while away).
      const span = (selector: string) => page.$eval(selector, (e) => ({ from: Number(e.getAttribute('data-from-at')), to: Number(e.getAttribute('data-to-at')), top: parseFloat((e as HTMLElement).style.top), height: parseFloat((e as HTMLElement).style.height), fired: e.getAttribute('data-fired'), text: e.textContent }));
      const lost = await span(`[data-span="link-lost"][data-lane="${connection}"]`);
      expect(lost).toMatchObject({ from: down.at, to: back.at });
      // Read with the span, in one look: events still arriving (a loaded machine) move the rows.
      const [lostTop, downTop] = await page.evaluate(
        ([lane, at]) => {
          const spanEl = document.querySelector(`[data-span="link-lost"][data-lane="${lane}"]`) as HTMLElement;
          const row = document.querySelector(`.seq-event[data-lane="${lane}"][data-seq-event="LINK_DOWN"][data-at="${at}"]`) as HTMLElement;
          return [parseFloat(spanEl.style.top), parseFloat(row.style.top)];
        },
        [connection, String(down.at)] as const,
      );
      expect(lostTop).toBeCloseTo(downTop + 8, -1);
      const grace = await span(`[data-span="delay"][data-delay="interruptionGrace"][data-lane="${connection}"]`);
      expect(grace.fired).toBe('true');
      expect(grace.text).toContain('after interruptionGrace (400 ms)');
      expect(grace.from).toBe(down.at);
      expect(grace.to - grace.from).toBeGreaterThanOrEqual(390);
      expect(grace.top + grace.height).toBeLessThanOrEqual(lost.top + lost.height);
      const clientPresence = await span(`[data-span="delay"][data-delay="presenceTimeout"][data-lane="${connection}"]`);
      expect(clientPresence).toMatchObject({ fired: 'false', to: back.at });
      const serverPresence = await span(`[data-span="delay"][data-delay="presenceTimeout"][data-lane="${session}"]`);
      expect(serverPresence).toMatchObject({ fired: 'false', to: resumed.at });
      expect(serverPresence.text).toContain('after presenceTimeout (1.5 s)');
      expect(await page.$(`[data-span="link-lost"][data-lane="${session}"]`)).not.toBeNull();

      // Messages between the client's machines: the connection opens the link, the link reports LINK_UP.
      expect(await page.$(`[data-seq-message="OPEN"][data-from="${connection}"][data-to="${linkLane}"]`)).not.toBeNull();
      expect(await page.$$(`[data-seq-message="LINK_UP"][data-from="${linkLane}"][data-to="${connection}"]`)).toHaveLength(2);

      await screenshot(page, 'inspector-sequence');
      if (process.env.RTM_DOCS_SCREENSHOTS === '1') copyFileSync(`${ARTIFACTS}/inspector-sequence.png`, 'docs/inspector-sequence.png');
      // Back to the chart.
      await page.click('[data-view-tab="chart"]');
      await page.waitForSelector('[data-state-id="connection.CONNECTED"][data-active="true"]');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await client.logout();
      client.actor.stop();
      await reporter.close();
      await proxy.close();
      await server.close();
    }
  }, 60_000);
});
