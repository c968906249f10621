/**
 * The client in a real browser: src/index.ts bundled by esbuild for the browser (as
 * `npm run build` does, `ws` left external) and run in headless Chromium against the real
 * server through the fault proxy. The browser's own WebSocket is used; no Node module loads.
 */
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedIn, recordPeerMessages, useSystems, waitFor } from './harness.js';

const start = useSystems();
let browser: Browser;
let bundle: string;

beforeAll(async () => {
  const result = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'RtmSdk',
    platform: 'browser',
    target: 'es2022',
    external: ['ws', 'node:*'],
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0]!.text;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
});

describe('the client in a browser', () => {
  it('R1.2 R3.1 R5.1 logs in, exchanges messages, survives a cut silently and gets what it missed', async () => {
    const system = await start();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.setContent('<!doctype html><title>rtm</title>');
      await page.addScriptTag({ content: bundle });
      const alice = await loggedIn(system, 'alice', true);
      const fromBrowser = recordPeerMessages(alice);
      await page.evaluate(
        async ({ url, token, timing }) => {
          const { RtmClient } = (window as unknown as { RtmSdk: typeof import('../../src/index.js') }).RtmSdk;
          const client = new RtmClient({ url, timing });
          const log = { states: [] as string[], messages: [] as string[] };
          Object.assign(window, { client, log });
          client.on('ConnectionStateChanged', (state, reason) => log.states.push(`${state}/${reason}`));
          client.on('MessageFromPeer', (m, from, props) => log.messages.push(`${from}:${m.text}:${props.isOfflineMessage}`));
          await client.login({ uid: 'browser', token });
          await client.sendMessageToPeer({ text: 'hello from the browser' }, 'alice');
        },
        { url: system.proxy.url, token: system.token('browser'), timing: system.timing },
      );
      await waitFor(() => fromBrowser.length === 1, 'the browser message');
      expect(fromBrowser[0]).toMatchObject({ text: 'hello from the browser', from: 'browser' });
      await alice.sendMessageToPeer({ text: 'live' }, 'browser');
      system.proxy.refuse();
      system.proxy.cut();
      await alice.sendMessageToPeer({ text: 'missed' }, 'browser');
      system.proxy.restore();
      const read = () => page.evaluate(() => (window as unknown as { log: { states: string[]; messages: string[] } }).log);
      const deadline = Date.now() + 5000;
      while ((await read()).messages.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const log = await read();
      expect(log.messages).toEqual(['alice:live:false', 'alice:missed:true']);
      expect(log.states).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS']);
      await page.evaluate(() => (window as unknown as { client: { logout(): Promise<void> } }).client.logout());
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
