/**
 * Scenario 6, the inspector page at scale (issue 15.6): the built inspector (`dist/`) with
 * its page open in headless Chromium; one producer registers N actors and streams M snapshot
 * messages to them through the relay, as fast as the page takes them in (at most a window of
 * messages ahead of what the page has ingested). Measured in the page: the time between
 * animation frames (requestAnimationFrame deltas) and the long tasks (over 50 ms) while the
 * events stream, while the user scrolls the event log, and while the user switches actors;
 * and the ingest rate (messages per second from the first sent to the last in the page's
 * store). Only our inspector is measured (the other systems have none).
 */
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { launchBrowser } from '../../test/inspector/browser.js';
import type { BenchContext } from '../lib/context.js';
import { builtPackage } from '../lib/package.js';
import { check, round, runIfMain, type ScenarioReport } from '../lib/scenario.js';

export interface FrameStats {
  frames: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  longTasks: number;
  longTaskMs: number;
}

export interface InspectorResult {
  actors: number;
  events: number;
  ingestMs: number;
  ingestPerSec: number;
  streaming: FrameStats;
  scrolling: FrameStats;
  switching: FrameStats;
  /** What the page held at the end. */
  historyBytes: number;
  logLength: number;
  actorCount: number;
  pageHeapBytes: number | null;
}

/** A small machine with nested states and named delays, as the page draws it. */
const definition = JSON.stringify({
  id: 'bench',
  initial: 'idle',
  states: {
    idle: { on: { START: 'running' } },
    running: {
      initial: 'fast',
      states: { fast: { on: { SLOW: 'slow' } }, slow: { after: { settle: 'fast' } } },
      after: { 30000: 'idle' },
      on: { STOP: 'idle' },
    },
  },
});
const values: unknown[] = ['idle', { running: 'fast' }, { running: 'slow' }];
const events = ['START', 'SLOW', 'xstate.after.settle.bench.running.slow', 'STOP'];

function stats(deltas: number[], longTasks: number[]): FrameStats {
  const sorted = [...deltas].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { frames: sorted.length, p50Ms: round(at(0.5), 1), p95Ms: round(at(0.95), 1), maxMs: round(sorted.at(-1) ?? 0, 1), longTasks: longTasks.length, longTaskMs: Math.round(longTasks.reduce((a, b) => a + b, 0)) };
}

/**
 * Starts (or restarts) recording frame deltas and long tasks in the page. A string, so that
 * tsx's transform of this file (it names every function) does not reach the page.
 */
const FRAME_RECORDER = `(() => {
  if (!window.benchFrames) {
    const rec = { deltas: [], long: [], last: performance.now() };
    window.benchFrames = rec;
    const loop = (t) => { rec.deltas.push(t - rec.last); rec.last = t; requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
    new PerformanceObserver((list) => { for (const entry of list.getEntries()) rec.long.push(entry.duration); }).observe({ type: 'longtask' });
  }
  window.benchFrames.deltas = [];
  window.benchFrames.long = [];
  window.benchFrames.last = performance.now();
})()`;

async function startFrames(page: Page): Promise<void> {
  await page.evaluate(FRAME_RECORDER);
}

async function takeFrames(page: Page): Promise<FrameStats> {
  const { deltas, long } = await page.evaluate(() => (window as unknown as { benchFrames: { deltas: number[]; long: number[] } }).benchFrames);
  return stats(deltas.slice(1), long);
}

const ingested = (page: Page): Promise<number> => page.evaluate(() => Number(document.getElementById('app')?.getAttribute('data-ingested') ?? 0));

export async function runInspector(ctx: BenchContext): Promise<ScenarioReport<InspectorResult>> {
  const started = performance.now();
  const params = ctx.quick ? { actors: 100, events: 5_000, window: 2_000, frame: 100, scrolls: 15, switches: 10 } : { actors: 1_000, events: 100_000, window: 10_000, frame: 250, scrolls: 60, switches: 40 };
  const report: ScenarioReport<InspectorResult> = { name: 'inspector', title: 'Inspector page', params, systems: {}, checks: [], durationMs: 0 };
  const { startInspectorServer } = await builtPackage('/inspector');
  const server = await startInspectorServer({ port: 0 });
  const browser = await launchBrowser();
  const producer = new WebSocket(`${server.relayUrl}?producer=bench`);
  const errors: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(server.pageUrl);
    await page.waitForSelector('.live-status[data-live="true"]');
    if (producer.readyState !== WebSocket.OPEN) {
      await new Promise((resolve, reject) => {
        producer.once('open', resolve);
        producer.once('error', reject);
      });
    }
    const send = (items: unknown[]): Promise<void> => new Promise((resolve, reject) => producer.send(JSON.stringify(items), (error) => (error ? reject(error) : resolve())));
    const ids = Array.from({ length: params.actors }, (_, i) => `x:${i}`);
    for (let i = 0; i < ids.length; i += 200) {
      await send(ids.slice(i, i + 200).map((sessionId, k) => ({ type: '@xstate.actor', sessionId, name: `bench-${i + k}`, definition, _delays: { settle: 1500 }, snapshot: { status: 'active', value: 'idle', context: { uid: `u${i + k}`, n: 0 } } })));
    }
    const registered = params.actors;
    await page.waitForFunction((n) => Number(document.getElementById('app')?.getAttribute('data-ingested')) >= n, registered, { timeout: 60_000 });

    ctx.log(`inspector: ${params.actors} actors registered; streaming ${params.events} events`);
    await startFrames(page);
    const streamStart = performance.now();
    let sent = 0;
    let seen = 0;
    while (sent < params.events) {
      // Keep at most a window of messages ahead of the page, so the relay never has to drop it.
      while (sent - (seen - registered) > params.window) {
        seen = await ingested(page);
        if (sent - (seen - registered) > params.window) await new Promise((r) => setTimeout(r, 20));
      }
      const batch = [];
      for (let k = 0; k < params.frame && sent < params.events; k++, sent++) {
        const actor = sent % params.actors;
        const step = Math.floor(sent / params.actors);
        batch.push({ type: '@xstate.snapshot', sessionId: ids[actor], event: { type: events[step % events.length] }, snapshot: { status: 'active', value: values[(step + 1) % values.length], context: { uid: `u${actor}`, n: step } } });
      }
      await send(batch);
    }
    await page.waitForFunction((n) => Number(document.getElementById('app')?.getAttribute('data-ingested')) >= n, registered + params.events, { timeout: 120_000, polling: 50 });
    const ingestMs = performance.now() - streamStart;
    const streaming = await takeFrames(page);
    ctx.log(`inspector: ingested in ${Math.round(ingestMs)} ms; frames p95 ${streaming.p95Ms} ms`);

    // The user scrolls the log up through the entries.
    await startFrames(page);
    const log = await page.$('.log-viewport');
    const box = await log!.boundingBox();
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    for (let i = 0; i < params.scrolls; i++) {
      await page.mouse.wheel(0, i % 10 < 7 ? -900 : 600);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    }
    const scrolling = await takeFrames(page);

    // The user switches actors from the list (each a chart to lay out and draw).
    await startFrames(page);
    for (let i = 0; i < params.switches; i++) {
      const id = ids[(i * 37) % ids.length]!;
      await page.click(`[data-actor-id="bench/${id}"]`);
      await page.waitForSelector(`[data-actor-id="bench/${id}"][data-selected="true"]`);
      await page.waitForSelector('[data-state-id="bench.running"]');
    }
    const switching = await takeFrames(page);

    const held = await page.evaluate(() => {
      const app = document.getElementById('app')!;
      const memory = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
      return { historyBytes: Number(app.getAttribute('data-history-bytes')), logLength: Number(app.getAttribute('data-log-length')), actorCount: Number(app.getAttribute('data-actor-count')), heap: memory?.usedJSHeapSize ?? null };
    });
    const result: InspectorResult = {
      actors: params.actors,
      events: params.events,
      ingestMs: Math.round(ingestMs),
      ingestPerSec: Math.round((params.events / ingestMs) * 1000),
      streaming,
      scrolling,
      switching,
      historyBytes: held.historyBytes,
      logLength: held.logLength,
      actorCount: held.actorCount,
      pageHeapBytes: held.heap,
    };
    report.systems.rtm = result;
    ctx.log(`inspector: ${result.ingestPerSec} events/s; frame p50/p95/max streaming ${streaming.p50Ms}/${streaming.p95Ms}/${streaming.maxMs} ms, scrolling ${scrolling.p50Ms}/${scrolling.p95Ms}/${scrolling.maxMs} ms, switching ${switching.p50Ms}/${switching.p95Ms}/${switching.maxMs} ms`);
    report.checks.push(check('inspector', held.actorCount === params.actors, `the page lists ${held.actorCount} of ${params.actors} actors`));
    report.checks.push(check('inspector', errors.length === 0, `page errors: ${errors.length ? errors.join('; ') : 'none'}`));
  } finally {
    producer.close();
    await browser.close();
    await server.close();
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runInspector);
