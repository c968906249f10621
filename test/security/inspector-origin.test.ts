/**
 * Issue 12.2: no other web page may use the inspector. In real Chromium, a page served from a
 * second origin (another loopback port) tries the inspector's sockets and endpoints; a page
 * reached through DNS rebinding (another host name resolving to 127.0.0.1) is refused by its
 * Host. A bystander RTM session keeps exchanging messages throughout and loses nothing.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtmClient } from '../../src/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { httpBase, refusedUpgrade, startBystander, startOtherOrigin, startServer, waitFor, type Bystander } from './inspector-rig.js';

const REBIND_HOST = 'rebind.test';

/** What a page on another origin can do to the inspector at `base` (run inside that page). */
async function attack(base: string): Promise<Record<string, string>> {
  const ws = base.replace(/^http/, 'ws');
  const trySocket = (path: string) =>
    new Promise<string>((resolve) => {
      const socket = new WebSocket(`${ws}${path}`);
      socket.onopen = () => {
        socket.close();
        resolve('open');
      };
      socket.onerror = () => resolve('refused');
      setTimeout(() => resolve('timeout'), 5000);
    });
  const results: Record<string, string> = {};
  results.live = await trySocket('/inspector/live');
  results.relay = await trySocket('/inspector/relay');
  results.config = await fetch(`${base}/inspector/demo/config`).then((r) => `read ${r.status}`, () => 'blocked');
  results.token = await fetch(`${base}/inspector/demo/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uid: 'demo-x' }) }).then((r) => `read ${r.status}`, () => 'blocked');
  // A no-cors POST goes out whatever CORS says; only the server can refuse it.
  results.ban = await fetch(`${base}/inspector/demo/ban`, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ uid: 'demo-victim' }) }).then(() => 'sent', () => 'blocked');
  results.banJson = await fetch(`${base}/inspector/demo/ban`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"uid":"demo-victim"}' }).then(() => 'sent', () => 'blocked');
  return results;
}

describe('12.2 the inspector answers its own page only', () => {
  let server: RtmServer;
  let browser: Browser;
  let bystander: Bystander;
  let victim: RtmClient;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startServer({ inspectorDemo: true }),
      chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--host-resolver-rules=MAP ${REBIND_HOST} 127.0.0.1`],
      }),
    ]);
    bystander = await startBystander(server);
    victim = new RtmClient({ url: server.url });
    await victim.login({ uid: 'demo-victim', token: server.createToken('demo-victim') });
  });

  afterAll(async () => {
    await victim?.logout();
    await browser?.close();
    await server?.close();
  });

  it('12.2 a page on another origin can open neither socket, read nothing and ban nobody', async () => {
    const other = await startOtherOrigin('<!doctype html><title>elsewhere</title><p>another site</p>');
    const page = await browser.newPage();
    try {
      await page.goto(other.url);
      const results = await page.evaluate(attack, httpBase(server));
      expect(results).toEqual({ live: 'refused', relay: 'refused', config: 'blocked', token: 'blocked', ban: 'sent', banJson: 'sent' });
      // The no-cors bans reached the server and were refused: the victim is still online and may log in again.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(victim.connectionState).toBe('CONNECTED');
      const again = new RtmClient({ url: server.url });
      await again.login({ uid: 'demo-victim', token: server.createToken('demo-victim') });
      await again.logout();
      await waitFor(() => victim.connectionState === 'ABORTED', 'the second login to take over');
      await victim.logout();
      await victim.login({ uid: 'demo-victim', token: server.createToken('demo-victim') });
    } finally {
      await page.close();
      await other.close();
    }
  });

  it('12.2 the refusals are clear: a foreign Origin gets 403 with a text body on every socket and endpoint', async () => {
    const base = httpBase(server);
    const foreign = { origin: 'http://127.0.0.1:1', host: new URL(base).host };
    for (const path of ['/inspector/live', '/inspector/relay']) {
      const refused = await refusedUpgrade(`${server.url}${path}`, foreign);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/origin 'http:\/\/127\.0\.0\.1:1'/);
    }
    for (const path of ['/inspector', '/inspector/app.js', '/inspector/demo/config']) {
      const res = await fetch(`${base}${path}`, { headers: { origin: 'http://127.0.0.1:1' } });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/does not answer pages from origin/);
    }
    // Our own origin is served.
    expect((await fetch(`${base}/inspector`, { headers: { origin: base } })).status).toBe(200);
  });

  it('12.2 DNS rebinding: the page under another host name that resolves to 127.0.0.1 is refused by its Host', async () => {
    const page = await browser.newPage();
    try {
      const port = new URL(httpBase(server)).port;
      const response = await page.goto(`http://${REBIND_HOST}:${port}/inspector`);
      expect(response?.status()).toBe(403);
      expect(await page.locator('body').textContent()).toContain(`Host '${REBIND_HOST}:${port}'`);
      // From that origin (same host name, so same origin to the browser), the sockets are refused too.
      const results = await page.evaluate(attack, `http://${REBIND_HOST}:${port}`);
      expect(results.live).toBe('refused');
      expect(results.relay).toBe('refused');
      expect(results.config).toBe('read 403');
      expect(results.token).toBe('read 403');
      expect(victim.connectionState).toBe('CONNECTED');
      // A Node client forging the Host header gets the same answer.
      expect((await refusedUpgrade(`${server.url}/inspector/live`, { host: `${REBIND_HOST}:${port}` })).status).toBe(403);
    } finally {
      await page.close();
    }
  });

  it('12.2 an origin on the allow-list may use the inspector; the bystander lost nothing throughout', async () => {
    const other = await startOtherOrigin('<!doctype html><title>ops</title>');
    const allowing = await startServer({ inspectorAllowedOrigins: [other.url.replace(/\/$/, '')] });
    const page = await browser.newPage();
    try {
      await page.goto(other.url);
      const results = await page.evaluate(attack, httpBase(allowing));
      expect(results.live).toBe('open');
      expect(results.relay).toBe('open');
      // … while the first server, which does not list it, still refuses it.
      expect((await page.evaluate(attack, httpBase(server))).live).toBe('refused');
    } finally {
      await page.close();
      await allowing.close();
      await other.close();
    }
    const outcome = await bystander.finish();
    expect(outcome.sent).toBeGreaterThan(10);
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });
});
