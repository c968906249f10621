/**
 * Issue 14.3: XState v4 apps in the inspector. A real `xstate@4` service reports through the real
 * `@xstate/inspect` server (its `inspect` from `@xstate/inspect/lib/server`, over a `ws` server);
 * the inspector dials it (`xstateV4`) and the page in a real Chromium draws the v4 machine,
 * follows its active state and counts its delayed transition down from the moment it was entered.
 * The bridge redials a restarted app, stops on close, and a hostile server cannot hurt the process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createMachine, inspectServer, interpret, xstateVersion, type V4Service } from 'rtm-statechart-xstate4-inspect';
import { createInspector, startInspectorServer, type InspectorServer, type XStateV4BridgeStatus } from '../../inspector/server/index.js';
import { Relay } from '../../inspector/server/relay.js';
import { connectXStateV4 } from '../../inspector/server/v4-bridge.js';
import { v4DefinitionToConfig, v5EventType } from '../../inspector/server/v4-translate.js';
import type { ActorMessage, InspectionMessage, SnapshotMessage } from '../../inspector/server/messages.js';
import { RtmError } from '../../src/errors.js';
import { run as runInspectCommand } from '../../src/cli/inspect.js';
import { launchBrowser, screenshot, secondsIn, watchErrors } from './browser.js';

/** A v4 machine, written as v4 apps write them: a numeric delay, a named one, a guard, nesting. */
const trafficLight = () =>
  createMachine(
    {
      id: 'light',
      predictableActionArguments: true,
      initial: 'green',
      context: { cycles: 0, apiToken: 'light-secret-123' },
      states: {
        green: { on: { NEXT: 'yellow', EMERGENCY: { target: 'red', cond: 'isEmergency' } } },
        yellow: { after: { 4000: 'red' } },
        red: {
          initial: 'walk',
          states: { walk: { on: { HURRY: 'flashing' } }, flashing: { after: { BLINK: 'walk' } } },
          on: { NEXT: 'green' },
        },
      },
    },
    { delays: { BLINK: 1500 }, guards: { isEmergency: () => true } },
  );

interface V4App {
  wss: WebSocketServer;
  port: number;
  /** Connections the app's inspection server has accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** An XState v4 app's inspection server, as `@xstate/inspect`'s README sets it up. */
async function startV4App(port = 0): Promise<V4App> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  inspectServer({ server: wss });
  const app: V4App = {
    wss,
    port: (wss.address() as AddressInfo).port,
    connections: 0,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', () => app.connections++);
  return app;
}

interface ForkedV4App {
  child: ChildProcess;
  port: number;
  sessionId: string;
  kill(): Promise<void>;
}

/** The v4 app in a process of its own (fixtures/v4-app.cjs), so that it can really restart. */
async function forkV4App(port: number): Promise<ForkedV4App> {
  const child = fork(fileURLToPath(new URL('./fixtures/v4-app.cjs', import.meta.url)), [String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; sessionId: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number; sessionId: string }));
    child.once('exit', (code) => reject(new Error(`the v4 app exited with ${code}`)));
  });
  return {
    child,
    ...ready,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}

/** A server that speaks the first words of the protocol and then sends what `frames` gives for the n-th connection. */
async function startHostileServer(frames: (n: number) => string | Buffer): Promise<{ port: number; closeCodes: number[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const closeCodes: number[] = [];
  let n = 0;
  wss.on('connection', (ws) => {
    const index = n++;
    ws.on('error', () => undefined);
    ws.on('close', (code) => closeCodes.push(code));
    ws.once('message', () => ws.send(frames(index)));
  });
  return {
    port: (wss.address() as AddressInfo).port,
    closeCodes,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function until(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function actorsIn(relay: Relay): ActorMessage[] {
  return relay.replay().filter((m): m is ActorMessage => m.type === '@xstate.actor');
}

function lastSnapshotOf(relay: Relay, sessionId: string): SnapshotMessage | undefined {
  return relay.replay().filter((m: InspectionMessage): m is SnapshotMessage => m.type === '@xstate.snapshot' && m.sessionId === sessionId).pop();
}

// One @xstate/inspect server for the whole file, as an app has one: its module keeps its services
// and listeners for the life of the process, so a second server here would hear the first's.
let app: V4App;
beforeAll(async () => {
  app = await startV4App();
});
afterAll(async () => {
  await app?.close();
});

describe('14.3 translating @xstate/inspect frames', () => {
  it('14.3 a v4 definition becomes a config the page draws: delays as after, eventless as always, guards by name', () => {
    const v4 = JSON.parse(JSON.stringify((trafficLight() as { definition: unknown }).definition)) as Record<string, unknown>;
    const config = v4DefinitionToConfig(v4) as { states: Record<string, { on?: Record<string, unknown>; after?: Record<string, unknown>; states?: Record<string, { after?: Record<string, unknown> }> }> };
    expect(xstateVersion.startsWith('4.')).toBe(true);
    expect(Object.keys(config.states)).toEqual(['green', 'yellow', 'red']);
    expect(config.states.yellow!.after).toEqual({ 4000: [{ target: ['#light.red'] }] });
    expect(config.states.yellow!.on).toBeUndefined();
    expect(config.states.red!.states!.flashing!.after).toEqual({ BLINK: [{ target: ['#light.red.walk'] }] });
    expect(config.states.green!.on!.EMERGENCY).toEqual([{ target: ['#light.red'], guard: 'isEmergency' }]);
    expect(v5EventType('xstate.after(4000)#light.yellow')).toBe('xstate.after.4000.light.yellow');
    expect(v5EventType('NEXT')).toBe('NEXT');
  });

  it('14.3 a bad address is an INVALID_ARGUMENT RtmError, from the API and from `inspect --xstate-v4`', async () => {
    const relay = new Relay();
    expect(() => connectXStateV4(relay, { url: 'http://127.0.0.1:8888' })).toThrow(RtmError);
    expect(() => createInspector({ xstateV4: ['ws://127.0.0.1:1', 'not a url'] })).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    await expect(runInspectCommand(['--port', '0', '--xstate-v4', 'localhost:8888'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('14.3 XState v4 apps in the inspector page (real @xstate/inspect server, real Chromium)', () => {
  let server: InspectorServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let service: V4Service;

  beforeAll(async () => {
    // Started before the inspector: the bridge learns of it from the app's answer to `xstate.inspecting`.
    service = interpret(trafficLight(), { devTools: true }).start();
    [server, browser] = await Promise.all([startInspectorServer({ xstateV4: [{ url: `ws://127.0.0.1:${app.port}`, reconnectDelayMs: 50 }] }), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = watchErrors(page);
  });

  afterAll(async () => {
    service?.stop();
    await browser?.close();
    await server?.close();
  });

  it('14.3 draws the v4 machine, moves data-active as the v4 service transitions, and counts its delay down from when the state was entered', { timeout: 60_000 }, async () => {
    const bridge = server.inspector.xstateV4Bridges[0]!;
    const actorId = `${bridge.label}/${service.sessionId}`;
    expect(bridge.label).toBe(`v4-${app.port}`);
    await page.goto(`${server.pageUrl}#${encodeURIComponent(actorId)}`);
    await page.locator(`[data-actor-id="${actorId}"]`).waitFor({ timeout: 15_000 });
    for (const id of ['light', 'light.green', 'light.yellow', 'light.red', 'light.red.walk', 'light.red.flashing']) {
      await page.locator(`[data-state-id="${id}"]`).waitFor({ timeout: 10_000 });
    }
    await page.locator('[data-state-id="light.green"][data-active="true"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('.edge-label', { hasText: 'after 4 s' }).count()).resolves.toBe(1);
    await expect(page.locator('[data-delay]').count()).resolves.toBe(0);

    // The v4 service moves; the page follows.
    const enteredYellow = Date.now();
    service.send('NEXT');
    await page.locator('[data-state-id="light.yellow"][data-active="true"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('[data-state-id="light.green"]').getAttribute('data-active')).resolves.toBeNull();
    const countdown = page.locator('[data-delay="4000"]');
    await countdown.waitFor({ timeout: 5_000 });
    const first = secondsIn(await countdown.textContent());
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(4);
    await page.waitForFunction((before) => {
      const match = /(\d+(?:\.\d+)?)\s*s/.exec(document.querySelector('[data-delay="4000"]')?.textContent ?? '');
      return match !== null && Number(match[1]) < before;
    }, first, { timeout: 5_000 });

    // A page opened 1.5 s into the state counts from when the state was entered, not from when it loaded.
    await sleep(Math.max(0, enteredYellow + 1_500 - Date.now()));
    const late = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const lateErrors = watchErrors(late);
    await late.goto(`${server.pageUrl}#${encodeURIComponent(actorId)}`);
    const lateCountdown = late.locator('[data-delay="4000"]');
    await lateCountdown.waitFor({ timeout: 5_000 });
    const lateSeconds = secondsIn(await lateCountdown.textContent());
    const expected = (4_000 - (Date.now() - enteredYellow)) / 1000;
    expect(lateSeconds).toBeLessThanOrEqual(2.6);
    expect(Math.abs(lateSeconds - expected)).toBeLessThan(0.6);
    await screenshot(late, 'inspector-v4-machine-counting-down');
    await late.close();
    expect(lateErrors).toEqual([]);

    // The delay fires in the v4 service: red (its initial walk) is active and nothing is pending.
    await page.locator('[data-state-id="light.red.walk"][data-active="true"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('[data-state-id="light.yellow"]').getAttribute('data-active')).resolves.toBeNull();
    await page.locator('[data-delay]').waitFor({ state: 'detached', timeout: 5_000 });
    expect(service.state.value).toEqual({ red: 'walk' });
    await page.locator('.log-row .c-event', { hasText: 'xstate.after.4000.light.yellow' }).first().waitFor({ timeout: 5_000 });

    // A named v4 delay shows its value, read from the timer the v4 state started.
    service.send('HURRY');
    const blink = page.locator('[data-delay="BLINK"]');
    await blink.waitFor({ timeout: 5_000 });
    expect(secondsIn(await blink.textContent())).toBeLessThanOrEqual(1.5);
    await expect(page.locator('.edge-label', { hasText: 'after BLINK (1.5 s)' }).count()).resolves.toBe(1);
    await page.locator('[data-state-id="light.red.walk"][data-active="true"]').waitFor({ timeout: 10_000 });
    await screenshot(page, 'inspector-v4-machine');

    // Secrets in a v4 context are redacted like any producer's (issue 12.3).
    const registration = actorsIn(server.inspector.relay).find((a) => a.sessionId === actorId)!;
    expect((registration.snapshot as { context: Record<string, unknown> }).context.apiToken).toBe('[redacted]');
    expect(JSON.stringify(server.inspector.relay.replay())).not.toContain('light-secret-123');
    expect(errors).toEqual([]);
  });
});

describe('14.3 the bridge across restarts, close and hostile servers', () => {
  it('14.3 redials an @xstate/inspect server whose process restarts, and shows the services of the new process', async () => {
    let app = await forkV4App(0);
    const port = app.port;
    const statuses: XStateV4BridgeStatus[] = [];
    const inspector = createInspector({ xstateV4: [{ url: `ws://127.0.0.1:${port}`, reconnectDelayMs: 50, maxReconnectDelayMs: 200, onStatus: (s) => statuses.push(s) }] });
    const bridge = inspector.xstateV4Bridges[0]!;
    const idOf = (sessionId: string) => `${bridge.label}/${sessionId}`;
    const valueOf = (sessionId: string) => (lastSnapshotOf(inspector.relay, idOf(sessionId))?.snapshot as { value?: unknown } | undefined)?.value;
    try {
      await until(() => actorsIn(inspector.relay).some((a) => a.sessionId === idOf(app.sessionId)), 5_000, 'the first service');
      app.child.send({ send: 'NEXT' });
      await until(() => valueOf(app.sessionId) === 'yellow', 5_000, 'the first service to move');

      // The app's process dies and a new one serves the same port.
      await app.kill();
      await until(() => bridge.state === 'waiting' || bridge.state === 'connecting', 5_000, 'the bridge to notice');
      await sleep(300); // a few failed dials while nothing listens
      app = await forkV4App(port);
      await until(() => bridge.state === 'open', 5_000, 'the redial');
      // The new process numbers its services afresh: the same id is now the new service, in green.
      await until(() => valueOf(app.sessionId) === 'green', 5_000, 'the new service');
      app.child.send({ send: 'NEXT' });
      await until(() => valueOf(app.sessionId) === 'yellow', 5_000, 'the new service to move');
      expect(statuses.filter((s) => s.state === 'open').length).toBeGreaterThanOrEqual(2);
      expect(statuses.some((s) => s.state === 'waiting' && typeof s.reason === 'string')).toBe(true);
      expect(bridge.framesRefused).toBe(0);
    } finally {
      await inspector.close();
      await app.kill();
    }
  });

  it('14.3 a v4 service that stops is shown as stopped, in the state it stopped in', async () => {
    const inspector = createInspector({ xstateV4: [`ws://127.0.0.1:${app.port}`] });
    const bridge = inspector.xstateV4Bridges[0]!;
    const service = interpret(trafficLight(), { devTools: true }).start();
    const id = `${bridge.label}/${service.sessionId}`;
    try {
      await until(() => actorsIn(inspector.relay).some((a) => a.sessionId === id), 5_000, 'the service');
      service.send('NEXT');
      service.stop();
      await until(() => (lastSnapshotOf(inspector.relay, id)?.snapshot as { status?: string } | undefined)?.status === 'stopped', 5_000, 'the stop');
      expect(lastSnapshotOf(inspector.relay, id)!.snapshot).toEqual({ value: 'yellow', status: 'stopped' });
    } finally {
      await inspector.close();
    }
  });

  it('14.3 stops cleanly when the inspector closes: the connection is closed and never redialled', async () => {
    const inspector = createInspector({ xstateV4: [`ws://127.0.0.1:${app.port}`] });
    const bridge = inspector.xstateV4Bridges[0]!;
    try {
      await until(() => bridge.state === 'open' && app.wss.clients.size === 1, 5_000, 'the bridge to connect (and no other viewer)');
      await inspector.close();
      expect(bridge.state).toBe('closed');
      await until(() => app.wss.clients.size === 0, 2_000, 'the connection to close');
      const connections = app.connections;
      await sleep(700); // longer than the first redial delay (500 ms)
      expect(app.connections).toBe(connections);
      expect(inspector.relay.producerBytes(bridge.label)).toBe(0);
    } finally {
      await inspector.close();
    }
  });

  it('14.3 a hostile v4 server (malformed JSON, deep nesting, huge frames, broken service frames) gets PROTOCOL_ERROR and a close code; the process and other producers go on', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const deepMachine = JSON.stringify({ type: 'service.register', sessionId: 'x:9', machine: `{"states":${'{"a":'.repeat(5_000)}{}${'}'.repeat(5_000)}}`, state: '{}' });
    const huge = JSON.stringify({ type: 'service.state', sessionId: 'x:9', state: JSON.stringify({ value: 'a', context: { blob: 'x'.repeat(200_000) } }) });
    const frames = [
      '{"type":"service.state",', // not JSON
      deep, // nested far deeper than the relay allows
      deepMachine, // deep inside the machine text
      huge, // over maxFrameBytes
      JSON.stringify({ type: 'service.state', sessionId: 42, state: '{}' }), // no usable sessionId
      JSON.stringify({ type: 'service.register', sessionId: 'x:9', machine: 'not json', state: '{}' }),
      Buffer.from([1, 2, 3]),
    ];
    const hostile = await startHostileServer((n) => frames[Math.min(n, frames.length - 1)]!);
    const relay = new Relay();
    // Another producer's actor, which must be untouched.
    relay.publish({ type: '@xstate.actor', sessionId: 'session:alice', name: 'session', snapshot: { value: 'online', status: 'active' } });
    const errorsSeen: RtmError[] = [];
    const bridge = connectXStateV4(relay, {
      url: `ws://127.0.0.1:${hostile.port}`,
      reconnectDelayMs: 20,
      maxReconnectDelayMs: 40,
      maxFrameBytes: 64 * 1024,
      onStatus: (s) => {
        if (s.error) errorsSeen.push(s.error);
      },
    });
    try {
      await until(() => hostile.closeCodes.length >= frames.length, 10_000, 'every hostile frame to be refused');
      expect(hostile.closeCodes.slice(0, frames.length)).toEqual([1007, 1008, 1008, 1009, 1008, 1008, 1003]);
      expect(bridge.framesRefused).toBeGreaterThanOrEqual(frames.length);
      expect(bridge.lastError).toBeInstanceOf(RtmError);
      expect(bridge.lastError!.code).toBe('PROTOCOL_ERROR');
      expect(errorsSeen.length).toBeGreaterThanOrEqual(frames.length);
      expect(errorsSeen.every((e) => e.code === 'PROTOCOL_ERROR')).toBe(true);
      // Nothing of the hostile server was stored; the other producer's actor is still there.
      expect(actorsIn(relay).map((a) => a.sessionId)).toEqual(['session:alice']);
      expect(relay.producerBytes(bridge.label)).toBe(0);
    } finally {
      await bridge.close();
      await hostile.close();
    }
    // A plain client of the same process still works after all that.
    const probe = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => probe.once('listening', resolve));
    const ws = new WebSocket(`ws://127.0.0.1:${(probe.address() as AddressInfo).port}`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.close();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
});
