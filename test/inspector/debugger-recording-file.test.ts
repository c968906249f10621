/**
 * Issue 15.3, recorded sessions: a real client and server session is recorded by the page in
 * Chromium and exported as a file; a fresh page with no relay imports it (file input and
 * drag-and-drop), refuses bad files with a clear error, and scrubs it on the timeline. The
 * same file, replayed by rtm-statechart/testing against a real server, FaultProxy and
 * RtmClient, passes; tampered to expect a wrong state, it fails and says where.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRelayReporter } from '../../inspector/server/index.js';
import { loadAsset } from '../../inspector/server/assets.js';
import { renderPage } from '../../inspector/server/page-html.js';
import { RtmClient, type Timing } from '../../src/index.js';
import { createRtmServer } from '../../src/server/index.js';
import { createFaultProxy, readRecording, replayRecordingOnRealClient, type RecordingFile } from '../../src/testing/index.js';
import { ARTIFACTS, sharedBrowser, screenshot, watchErrors } from './browser.js';

const timing: Partial<Timing> = { loginTimeoutMs: 2000, interruptionGraceMs: 400, presenceTimeoutMs: 1500 };
const heartbeat = { intervalMs: 100, timeoutMs: 1000 };

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const valueText = (item: { snapshot?: unknown }): string => JSON.stringify((item.snapshot as { value: unknown }).value);

/** The page alone, as a static file server would serve it: no relay behind it. */
async function startStaticPage(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/inspector/app.js') {
        const asset = await loadAsset('app');
        res.writeHead(asset ? 200 : 404, { 'content-type': 'text/javascript' }).end(asset?.body);
      } else if (req.url === '/' || req.url?.startsWith('/inspector')) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(renderPage());
      } else {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/inspector`, server };
}

async function activeStates(page: Page): Promise<string[]> {
  return page.$$eval('[data-state-id][data-active="true"]', (els) => els.map((e) => e.getAttribute('data-state-id')!));
}

const chromium = sharedBrowser();
/** The exported file's text and the recorded client's actor id, shared by the tests below. */
let exported = '';
let clientActor = '';


describe('15.3 export a recording, import it into a page with no server, scrub it', () => {
  it('15.3 a real client+server reconnect recorded in Chromium is exported, imported offline (file input and drop), refused when bad, and scrubbed', async () => {
    const server = await createRtmServer({ port: 0, timing, heartbeat });
    const proxy = await createFaultProxy({ target: server.url });
    const reporter = createRelayReporter({ url: server.inspector!.relayUrl, label: 'app' });
    const client = new RtmClient({ url: proxy.url, timing, inspect: reporter.inspect });
    clientActor = `app/${client.actor.sessionId}`;
    const context = await chromium.current.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(server.inspector!.pageUrl);
      await page.waitForSelector(`[data-actor-id="${clientActor}"]`);
      await client.login({ uid: 'rec-rita', token: server.createToken('rec-rita') });
      proxy.silent();
      proxy.cut();
      await waitFor(() => client.connectionState === 'RECONNECTING', 'RECONNECTING after the grace');
      proxy.restore();
      await waitFor(() => client.connectionState === 'CONNECTED', 'CONNECTED after the restore');
      await client.logout();
      await page.waitForFunction((id) => document.querySelector(`[data-actor-id="${id}"] .actor-state`)?.textContent?.includes('DISCONNECTED'), clientActor);

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-recording="export"]')]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await download.saveAs(`${ARTIFACTS}/recording.json`);
      exported = readFileSync(`${ARTIFACTS}/recording.json`, 'utf8');
    } finally {
      await context.close();
      client.actor.stop();
      await reporter.close();
      await proxy.close();
      await server.close();
    }
    expect(errors).toEqual([]);

    const file = readRecording(exported);
    expect(file).toMatchObject({ format: 'rtm-statechart-recording', version: 1 });
    // Definitions, snapshots with their times, and each actor's metadata.
    expect(file.actors.find((a) => a.sessionId === clientActor)).toMatchObject({ producer: 'app', staleSince: null });
    expect(file.actors.some((a) => a.name === 'session:rec-rita' && a.producer === '')).toBe(true);
    const steps = file.items.filter((i) => i.sessionId === clientActor && i.type === '@xstate.snapshot');
    expect(steps.map(valueText)).toEqual(expect.arrayContaining(['"CONNECTING"', '{"CONNECTED":"linkLost"}', '{"RECONNECTING":"withinPresence"}', '"DISCONNECTED"']));
    expect(file.items.find((i) => i.sessionId === clientActor && i.type === '@xstate.actor')?.definition).toContain('"id":"connection"');

    // The relay is gone; the page alone, from a static server.
    const offline = await startStaticPage();
    const fresh = await chromium.current.newContext({ viewport: { width: 1400, height: 900 } });
    const view = await fresh.newPage();
    const viewErrors = watchErrors(view);
    try {
      await view.goto(offline.url);
      await view.waitForSelector('[data-recording="export"]');
      expect(await view.getAttribute('.live-status', 'data-live')).toBe('false');

      // Bad files, dropped: a clear error each, and the page goes on.
      const drop = async (name: string, make: string): Promise<void> => {
        const transfer = await view.evaluateHandle(([fileName, source]) => {
          const data = new DataTransfer();
          data.items.add(new File([new Function(`return ${source}`)() as BlobPart], fileName, { type: 'application/json' }));
          return data;
        }, [name, make] as const);
        await view.dispatchEvent('body', 'drop', { dataTransfer: transfer });
      };
      const refusals: [string, string, RegExp][] = [
        ['broken.json', '"{ not json"', /broken\.json: not a readable recording: it is not JSON/],
        ['other.json', 'JSON.stringify({ format: "something-else", items: [] })', /format field is not "rtm-statechart-recording"/],
        ['newer.json', 'JSON.stringify({ format: "rtm-statechart-recording", version: 9, actors: [], items: [], exportedAt: 1 })', /version 9; this version of rtm-statechart reads version 1/],
        ['shape.json', 'JSON.stringify({ format: "rtm-statechart-recording", version: 1, exportedAt: 1, actors: [], items: [{ type: "@xstate.snapshot", sessionId: "x:1", _receivedAt: 1, event: { type: "A" } }] })', /items\[0\] has no snapshot/],
        ['huge.json', 'new Uint8Array(64 * 1024 * 1024 + 1)', /huge\.json: not a readable recording: it is larger than 64 MiB/],
      ];
      for (const [name, make, message] of refusals) {
        await drop(name, make);
        await view.waitForFunction((n) => document.querySelector('[data-recording-error="true"]')?.textContent?.startsWith(n), name);
        expect(await view.textContent('[data-recording-error]'), name).toMatch(message);
      }
      expect(await view.getAttribute('.live-status', 'data-live')).toBe('false');

      // The file input.
      await view.setInputFiles('[data-recording="import"]', { name: 'session.json', mimeType: 'application/json', buffer: Buffer.from(exported) });
      await view.waitForSelector('.live-status[data-live="recording"]');
      expect(await view.getAttribute('[data-recording-error]', 'data-recording-error')).toBe('');
      await view.click(`[data-actor-id="${clientActor}"]`);
      await view.waitForSelector('[data-state-id="connection.DISCONNECTED"][data-active="true"]');
      expect(await view.getAttribute('.view-status', 'data-view')).toBe('recording');
      expect(Number(await view.getAttribute('.timeline', 'data-count'))).toBe(steps.length);

      // Scrub to three moments: each shows its state, the pill says past, the log stops there.
      const moments: Record<string, string[]> = {
        '"CONNECTING"': ['connection.CONNECTING'],
        '{"CONNECTED":"linkLost"}': ['connection.CONNECTED', 'connection.CONNECTED.linkLost'],
        '{"RECONNECTING":"withinPresence"}': ['connection.RECONNECTING', 'connection.RECONNECTING.withinPresence'],
      };
      for (const [wanted, expected] of Object.entries(moments)) {
        const index = steps.findIndex((s) => valueText(s) === wanted);
        await view.$eval('[data-timeline="range"]', (el, i) => {
          (el as HTMLInputElement).value = String(i);
          el.dispatchEvent(new Event('input'));
        }, index);
        await view.waitForFunction((i) => document.querySelector('.timeline')?.getAttribute('data-index') === String(i), index);
        await view.waitForFunction((ids) => ids.every((id) => document.querySelector(`[data-state-id="${id}"]`)?.getAttribute('data-active') === 'true'), expected);
        const active = await activeStates(view);
        for (const id of expected) expect(active, wanted).toContain(id);
        expect(active.filter((id) => id.split('.').length === 2), wanted).toEqual([expected[0]]);
        expect(await view.getAttribute('.view-status', 'data-view')).toBe('past');
        expect(await view.textContent('.view-status')).toContain(`step ${index + 1} of ${steps.length}`);
        const at = steps[index]!._receivedAt;
        await view.waitForFunction((limit) => [...document.querySelectorAll('.log-row[data-at]')].every((r) => Number(r.getAttribute('data-at')) <= limit), at);
        const shown = await view.$$eval('.log-row[data-at]', (rows) => rows.map((r) => Number(r.getAttribute('data-at'))));
        expect(shown.length).toBeGreaterThan(0);
        expect(Math.max(...shown)).toBeLessThanOrEqual(at);
        if (wanted.includes('RECONNECTING')) await screenshot(view, 'recording-scrubbed');
      }
      await view.click('[data-timeline="live"]');
      await view.waitForSelector('.view-status[data-view="recording"]');

      // Dropped instead of picked: the same recording loads again.
      await drop('again.json', JSON.stringify(exported));
      await view.waitForSelector(`[data-actor-id="${clientActor}"]`);
      expect(await view.getAttribute('[data-recording-error]', 'data-recording-error')).toBe('');
      expect(viewErrors).toEqual([]);
    } finally {
      await fresh.close();
      await new Promise((resolve) => offline.server.close(resolve));
    }
  }, 90_000);
});

describe('15.3 a recording replayed as a regression test against the real client and server', () => {
  async function rig() {
    const server = await createRtmServer({ port: 0, inspector: false, timing, heartbeat });
    const proxy = await createFaultProxy({ target: server.url });
    const observer = new RtmClient({ url: server.url, timing });
    await observer.login({ uid: 'observer', token: server.createToken('observer') });
    return {
      server,
      proxy,
      observer,
      async close() {
        await observer.logout();
        observer.actor.stop();
        await proxy.close();
        await server.close();
      },
    };
  }

  it('15.3 the file the page exported replays on a real RtmClient through a FaultProxy: LOGIN, LINK_DOWN (a cut), the grace, LINK_UP (the restore), LOGOUT', async () => {
    expect(exported).not.toBe('');
    const r = await rig();
    try {
      await expect(replayRecordingOnRealClient(exported, r)).resolves.toBeNull();
    } finally {
      await r.close();
    }
  }, 60_000);

  it('15.3 the same file tampered to expect a wrong state fails the replay at that step with a clear message', async () => {
    const file = JSON.parse(exported) as RecordingFile;
    const reconnecting = file.items.find((i) => i.sessionId === clientActor && i.type === '@xstate.snapshot' && valueText(i) === '{"RECONNECTING":"withinPresence"}')!;
    (reconnecting.snapshot as { value: unknown }).value = 'DISCONNECTED';
    const tampered = JSON.stringify(file);
    writeFileSync(`${ARTIFACTS}/recording-tampered.json`, tampered);
    const r = await rig();
    try {
      const mismatch = await replayRecordingOnRealClient(tampered, { ...r, stepTimeoutMs: 3000 });
      // Still RECONNECTING when the step gave up (its presence window may have run out by then).
      expect(mismatch).toMatchObject({ expected: 'DISCONNECTED', actual: { RECONNECTING: expect.any(String) } });
      expect(mismatch!.event.type).toMatch(/^xstate\.after\.interruptionGrace\./);
      expect(mismatch!.message).toMatch(/^step \d+ of \d+ \(xstate\.after\.interruptionGrace\.[^)]*\): the recording shows "DISCONNECTED", the real client is in \{"RECONNECTING":"\w+"\} after 3000 ms$/);
    } finally {
      await r.close();
    }
  }, 60_000);
});
