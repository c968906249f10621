/**
 * The demo on the page served with the RTM server (R9): clients created in the browser with the
 * SDK bundle, their network cut and restored from the page, and their charts following along.
 * The server and the clients share a short grace period; logins keep a generous timeout so
 * that a loaded machine does not turn a slow login into LOGIN_TIMEOUT.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Timing } from '../../machines/index.js';
import { RtmClient } from '../../src/index.js';
import { createRtmServer } from '../../src/server/index.js';
import { launchBrowser, screenshot, watchErrors } from './browser.js';

const timing: Partial<Timing> & { interruptionGraceMs: number } = {
  loginTimeoutMs: 15_000,
  interruptionGraceMs: 1_000,
  presenceTimeoutMs: 10_000,
};

describe('R9 inspector demo', () => {
  let server: Awaited<ReturnType<typeof createRtmServer>>;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([createRtmServer({ port: 0, timing, inspectorDemo: true }), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = watchErrors(page);
    await page.goto(`${server.inspector!.pageUrl}?timing=${encodeURIComponent(JSON.stringify(timing))}`);
    await page.locator('.demo-create').waitFor({ timeout: 25_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const badge = (uid: string, nth = 0) => page.locator(`.demo-client[data-uid="${uid}"]`).nth(nth).locator('.client-state');

  async function createClient(uid: string): Promise<string> {
    await page.locator('.demo-uid').fill(uid);
    await page.locator('.demo-create').click();
    const card = page.locator(`.demo-client[data-uid="${uid}"]`).first();
    await card.locator('.client-state[data-state="CONNECTED"]').waitFor({ timeout: 20_000 });
    return (await card.getAttribute('data-client-actor')) ?? '';
  }

  it('R9 a browser client cut off goes CONNECTED → RECONNECTING after the grace period and back to CONNECTED after restore, on its chart too', async () => {
    const actorId = await createClient('demo-carol');
    // The client's machine is listed and charted from what it reports through the relay.
    await page.locator(`[data-actor-id="${actorId}"]`).click();
    await page.locator('[data-state-id="connection.CONNECTED.linkUp"][data-active="true"]').waitFor({ timeout: 10_000 });

    const card = page.locator('.demo-client[data-uid="demo-carol"]');
    // Every state the chart shows active from now on, and the badge's state when linkLost showed,
    // recorded by the page itself: linkLost may last less than a poll's interval, since the grace
    // counts from the last frame received (R3.2), which came before the heartbeat noticed.
    await page.evaluate(() => {
      const seen: Array<{ id: string; badge: string | null }> = [];
      (window as unknown as { seenActive: typeof seen }).seenActive = seen;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-state-id][data-active="true"]')) {
          const id = el.getAttribute('data-state-id')!;
          if (seen.some((s) => s.id === id)) continue;
          const badge = document.querySelector('.demo-client[data-uid="demo-carol"] .client-state');
          seen.push({ id, badge: badge?.getAttribute('data-state') ?? null });
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-active'] });
    });
    const cutAt = Date.now();
    await card.locator('[data-action="cut"]').click();
    // Lost, silently at first (R3.1): CONNECTED.linkLost while the badge still says CONNECTED …
    await card.locator('.client-state[data-state="RECONNECTING"]').waitFor({ timeout: 10_000 });
    const seen = await page.evaluate(() => (window as unknown as { seenActive: Array<{ id: string; badge: string | null }> }).seenActive);
    expect(seen.find((s) => s.id === 'connection.CONNECTED.linkLost')).toEqual({ id: 'connection.CONNECTED.linkLost', badge: 'CONNECTED' });
    // … then RECONNECTING once the grace period is over (R3.2), counted from the last frame, which
    // is at most one heartbeat timeout before the cut was noticed.
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(timing.interruptionGraceMs - 500);
    await page.locator('[data-state-id="connection.RECONNECTING"][data-active="true"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('[data-state-id="connection.CONNECTED"]').getAttribute('data-active')).resolves.toBeNull();
    await screenshot(page, 'inspector-demo-reconnecting');

    await card.locator('[data-action="cut"]').click(); // restore
    await card.locator('.client-state[data-state="CONNECTED"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-state-id="connection.CONNECTED"][data-active="true"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('[data-state-id="connection.RECONNECTING"]').getAttribute('data-active')).resolves.toBeNull();
    const notes = await card.locator('.demo-log li').allTextContents();
    expect(notes.some((n) => n.includes('state RECONNECTING (INTERRUPTED)'))).toBe(true);
    expect(notes.some((n) => n.includes('state CONNECTED (LOGIN_SUCCESS)'))).toBe(true);
    await screenshot(page, 'inspector-demo-restored');
    expect(errors).toEqual([]);
  });

  it('R9 logging the same uid in from a second demo client kicks the first (ABORTED / REMOTE_LOGIN)', async () => {
    await createClient('demo-dave');
    await page.locator('.demo-client[data-uid="demo-dave"] [data-action="kick"]').click();
    // The new card is first; the older one is aborted.
    await page.locator('.demo-client[data-uid="demo-dave"]').nth(1).locator('.client-state[data-state="ABORTED"]').waitFor({ timeout: 10_000 });
    await expect(badge('demo-dave', 0).getAttribute('data-state')).resolves.toBe('CONNECTED');
    const notes = await page.locator('.demo-client[data-uid="demo-dave"]').nth(1).locator('.demo-log li').allTextContents();
    expect(notes.some((n) => n.includes('state ABORTED (REMOTE_LOGIN)'))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('R9 a Node RtmClient pointed at the relay with createWebSocketInspector is listed and charted next to the server\'s session machines', async () => {
    const inspector = createWebSocketInspector({ url: `${server.inspector!.relayUrl}?producer=frank-app` });
    const client = new RtmClient({ url: server.url, timing, inspect: inspector.inspect });
    try {
      await client.login({ uid: 'frank', token: server.createToken('frank') });
      // The relay shows it under its connection's label.
      await page.locator(`[data-actor-id="frank-app/${client.actor.sessionId}"]`).click({ timeout: 10_000 });
      await page.locator('[data-state-id="connection.CONNECTED.linkUp"][data-active="true"]').waitFor({ timeout: 10_000 });
      // The server's session machine for frank is listed too, with its uid.
      await page.locator('.actor-list li', { hasText: 'frank' }).filter({ hasText: 'online' }).first().waitFor({ timeout: 10_000 });
      await client.logout();
      await page.locator('[data-state-id="connection.DISCONNECTED"][data-active="true"]').waitFor({ timeout: 10_000 });
      await page.locator('.log-row .c-reason', { hasText: 'LOGOUT' }).first().waitFor({ timeout: 10_000 });
      expect(errors).toEqual([]);
    } finally {
      await client.logout();
      inspector.stop();
    }
  });
});
