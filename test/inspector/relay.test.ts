/**
 * The relay and its access rules (R9), without a browser: bounded history, a late page sees the
 * current state of every actor, in-process actors are converted to the same stream, bad producer
 * frames are refused without harm, and the token rule off loopback.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createActor, createMachine } from 'xstate';
import { checkAccess } from '../../inspector/server/access.js';
import { createRelayReporter, Relay, startInspectorServer, type InspectionMessage, type InspectorServer, type PageFrame } from '../../inspector/server/index.js';
import { connectionMachine } from '../../machines/index.js';

const counterMachine = createMachine({
  id: 'counter',
  initial: 'even',
  states: { even: { on: { TICK: 'odd' } }, odd: { on: { TICK: 'even' } } },
});

function snapshotMessage(sessionId: string, n: number): InspectionMessage {
  return { type: '@xstate.snapshot', sessionId, event: { type: 'TICK' }, snapshot: { status: 'active', value: n % 2 ? 'odd' : 'even', context: { n } } };
}

/** Opens a page connection and resolves with what the relay sends it until `until` holds. */
function followLive(url: string, until: (items: InspectionMessage[]) => boolean, headers?: Record<string, string>): Promise<InspectionMessage[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const items: InspectionMessage[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`timed out after ${items.length} items`));
    }, 10_000);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as PageFrame;
      if (frame.t === 'items') items.push(...frame.items);
      if (until(items)) {
        clearTimeout(timer);
        ws.close();
        resolve(items);
      }
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const liveUrl = (server: InspectorServer): string => server.relayUrl.replace('/inspector/relay', '/inspector/live');

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('R9 relay history', () => {
  it('R9 keeps at most historyLimit messages, and the actor registration survives eviction', () => {
    const relay = new Relay({ historyLimit: 50 });
    relay.publish({ type: '@xstate.actor', sessionId: 'a', name: 'counter', definition: JSON.stringify(counterMachine.config) });
    for (let n = 1; n <= 200; n++) relay.publish(snapshotMessage('a', n));
    expect(relay.historySize).toBe(50);
    const replay = relay.replay();
    expect(replay).toHaveLength(51);
    const [registration, ...rest] = replay;
    expect(registration?.type).toBe('@xstate.actor');
    expect((registration as { definition?: string }).definition).toContain('"counter"');
    // The registration carries the last snapshot that fell out of the ring (n = 150) …
    expect((registration as { snapshot: { context: { n: number } } }).snapshot.context.n).toBe(150);
    // … and the ring holds the 50 most recent, in order.
    expect(rest.map((m) => (m as { snapshot: { context: { n: number } } }).snapshot.context.n)).toEqual(Array.from({ length: 50 }, (_, i) => 151 + i));
  });

  it('R9 a page that joins while messages await their batch gets each message exactly once', () => {
    const relay = new Relay({ historyLimit: 100 });
    const early: InspectionMessage[] = [];
    const late: InspectionMessage[] = [];
    const collect = (into: InspectionMessage[]) => ({ send: (frame: PageFrame) => { if (frame.t === 'items') into.push(...frame.items); } });
    relay.addViewer(collect(early));
    relay.publish({ type: '@xstate.actor', sessionId: 'a', name: 'counter' });
    for (let n = 1; n <= 5; n++) relay.publish(snapshotMessage('a', n)); // pending, not yet flushed
    relay.addViewer(collect(late));
    for (let n = 6; n <= 8; n++) relay.publish(snapshotMessage('a', n));
    relay.flush();
    const steps = (items: InspectionMessage[]) => items.filter((m) => m.type === '@xstate.snapshot').map((m) => (m as { snapshot: { context: { n: number } } }).snapshot.context.n);
    expect(steps(early)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(steps(late)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('R9 forgets the least recently active actors beyond actorLimit', () => {
    const relay = new Relay({ historyLimit: 10, actorLimit: 3 });
    for (const id of ['a', 'b', 'c', 'd']) relay.publish({ type: '@xstate.actor', sessionId: id, name: id });
    relay.publish(snapshotMessage('b', 1));
    relay.publish({ type: '@xstate.actor', sessionId: 'e', name: 'e' });
    expect(relay.actorCount).toBe(3);
    const ids = relay.replay().filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId);
    expect(ids.sort()).toEqual(['b', 'd', 'e']);
  });
});

describe('R9 relay over WebSocket', () => {
  let server: InspectorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('R9 a page opened later sees every actor in its current state, from a bounded history', async () => {
    server = await startInspectorServer({ historyLimit: 20 });
    const inspector = createWebSocketInspector({ url: `${server.relayUrl}?producer=app` });
    const counter = createActor(counterMachine, { inspect: inspector.inspect }).start();
    try {
      // @statelyai/inspect buffers at most 200 messages until its socket opens: wait for it.
      await waitFor(() => server!.inspector.relay.receivedCount >= 3, 'the producer to connect');
      for (let i = 0; i < 101; i++) counter.send({ type: 'TICK' });
      expect(counter.getSnapshot().value).toBe('odd');
      // The producer delivers asynchronously: wait until the relay holds the last step.
      // 1 registration + (init + 101 TICKs) × (event + snapshot).
      await waitFor(() => server!.inspector.relay.receivedCount === 205, 'the relay to receive every step');
      expect(server.inspector.relay.historySize).toBe(20);
      const items = await followLive(liveUrl(server), (got) => got.length >= 21);
      expect(items.length).toBeLessThanOrEqual(21);
      // The relay shows a producer's actors under its label (here the one it asked for).
      expect(items[0]).toMatchObject({ type: '@xstate.actor', sessionId: `app/${counter.sessionId}`, name: 'app/counter' });
      expect(JSON.parse((items[0] as { definition: string }).definition)).toMatchObject({ id: 'counter', initial: 'even' });
      const snapshots = items.filter((m) => m.type === '@xstate.snapshot');
      expect((snapshots.at(-1) as { snapshot: { value: string } }).snapshot.value).toBe('odd');
    } finally {
      counter.stop();
      inspector.stop();
    }
  });

  it('R9 in-process actors reported through inspector.inspect reach pages in the same form, with named delays resolved', async () => {
    server = await startInspectorServer({});
    const actor = createActor(connectionMachine, { inspect: server.inspector.inspect, input: { timing: { loginTimeoutMs: 600, interruptionGraceMs: 400, presenceTimeoutMs: 3000 } } }).start();
    try {
      actor.send({ type: 'LOGIN', uid: 'alice', token: 't' });
      const items = await followLive(liveUrl(server), (got) => got.some((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'LOGIN'));
      const registration = items.find((m) => m.type === '@xstate.actor' && m.sessionId === actor.sessionId) as { definition: string };
      expect(JSON.parse(registration.definition).states.CONNECTING.after).toHaveProperty('loginTimeout');
      const login = items.find((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'LOGIN') as {
        snapshot: { value: string; context: { uid: string } };
        _delays: Record<string, number>;
      };
      // presenceTimeout inside RECONNECTING is the part of the window left after the grace period.
      expect(login._delays).toEqual({ loginTimeout: 600, interruptionGrace: 400, presenceTimeout: 2600 });
      expect(login.snapshot.value).toBe('CONNECTING');
      expect(login.snapshot.context.uid).toBe('alice');
    } finally {
      actor.stop();
    }
  });

  it('R9 createRelayReporter sends another process\'s actors with their named delays resolved', async () => {
    server = await startInspectorServer({});
    const reporter = createRelayReporter({ url: server.relayUrl, label: 'worker' });
    const actor = createActor(connectionMachine, { inspect: reporter.inspect, input: { timing: { interruptionGraceMs: 1000, presenceTimeoutMs: 5000 } } }).start();
    try {
      actor.send({ type: 'LOGIN', uid: 'erin', token: 't' });
      await waitFor(() => server!.inspector.relay.replay().some((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'LOGIN'), 'the login step');
      const login = server.inspector.relay.replay().find((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'LOGIN') as { sessionId: string; _delays: Record<string, number> };
      expect(login.sessionId).toBe(`worker/${actor.sessionId}`);
      expect(login._delays).toEqual({ loginTimeout: 6000, interruptionGrace: 1000, presenceTimeout: 4000 });
    } finally {
      actor.stop();
      await reporter.close();
    }
  });

  it('R9 actors of two apps that use the same XState session ids are kept apart, each under its connection\'s label', async () => {
    server = await startInspectorServer({});
    // XState numbers actors per process: two apps (processes) both report an actor `x:0`.
    const apps = [new WebSocket(server.relayUrl), new WebSocket(server.relayUrl)];
    await Promise.all(apps.map((ws) => new Promise((resolve) => ws.on('open', resolve))));
    const report = (ws: WebSocket, message: object) => ws.send(JSON.stringify(message));
    for (const [i, ws] of apps.entries()) {
      report(ws, { type: '@xstate.actor', sessionId: 'x:0', name: `app${i}`, definition: JSON.stringify(counterMachine.config) });
      report(ws, { type: '@xstate.actor', sessionId: 'x:1', parentId: 'x:0', name: `child${i}` });
    }
    report(apps[1]!, { type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'TICK' }, snapshot: { status: 'active', value: 'odd' } });
    await waitFor(() => server!.inspector.relay.receivedCount === 5, 'every report');
    const registrations = server.inspector.relay.replay().filter((m) => m.type === '@xstate.actor') as { sessionId: string; name: string; parentId?: string }[];
    const byName = Object.fromEntries(registrations.map((m) => [m.name, m]));
    expect(byName['p1/app0']?.sessionId).toBe('p1/x:0');
    expect(byName['p1/child0']).toMatchObject({ sessionId: 'p1/x:1', parentId: 'p1/x:0' });
    expect(byName['p2/app1']?.sessionId).toBe('p2/x:0');
    expect(byName['p2/child1']).toMatchObject({ sessionId: 'p2/x:1', parentId: 'p2/x:0' });
    const odd = server.inspector.relay.replay().filter((m) => m.type === '@xstate.snapshot');
    expect(odd.map((m) => m.sessionId)).toEqual(['p2/x:0']);
    for (const ws of apps) ws.close();
  });

  it('R9 a producer sending something other than JSON is disconnected; the relay and other producers go on', async () => {
    server = await startInspectorServer({});
    const bad = new WebSocket(server.relayUrl);
    const closeCode = await new Promise<number>((resolve, reject) => {
      bad.on('open', () => bad.send('not json {'));
      bad.on('close', (code) => resolve(code));
      bad.on('error', reject);
    });
    expect(closeCode).toBe(1007);
    const good = new WebSocket(server.relayUrl);
    await new Promise((resolve) => good.on('open', resolve));
    good.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'ok', name: 'fine' }));
    // Unknown kinds and malformed messages are ignored rather than stored.
    good.send(JSON.stringify({ type: '@xstate.microstep', sessionId: 'ok' }));
    good.send(JSON.stringify({ type: '@xstate.event', sessionId: 'ok', event: 'no type' }));
    good.send(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'ok', event: { type: 'X' }, snapshot: { value: 'a' } }));
    await waitFor(() => server!.inspector.relay.historySize === 1, 'the valid snapshot');
    expect(server.inspector.relay.replay().map((m) => m.type)).toEqual(['@xstate.actor', '@xstate.snapshot']);
    good.close();
  });
});

describe('R9 access', () => {
  let server: InspectorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('R9 refuses to listen beyond loopback without an access token', async () => {
    await expect(startInspectorServer({ host: '0.0.0.0' })).rejects.toThrow(/access token/);
  });

  it('R9 without a token only loopback peers are served', () => {
    const from = (remoteAddress: string) => ({ url: '/inspector', headers: { host: '127.0.0.1:4242' }, socket: { remoteAddress } }) as unknown as IncomingMessage;
    expect(checkAccess(from('127.0.0.1'), undefined)).toEqual({ ok: true });
    expect(checkAccess(from('::ffff:127.0.0.1'), undefined)).toEqual({ ok: true });
    expect(checkAccess(from('::1'), undefined)).toEqual({ ok: true });
    expect(checkAccess(from('192.168.1.20'), undefined)).toMatchObject({ ok: false, status: 403 });
    expect(checkAccess(from('10.0.0.5'), 'secret')).toMatchObject({ ok: false, status: 401 });
    const withToken = { url: '/inspector/live', headers: { host: '10.0.0.1:4242', authorization: 'Bearer secret' }, socket: { remoteAddress: '10.0.0.5' } } as unknown as IncomingMessage;
    expect(checkAccess(withToken, 'secret')).toEqual({ ok: true });
  });

  it('R9 with an access token, page loads and relay connections must present it (off loopback too)', async () => {
    server = await startInspectorServer({ host: '0.0.0.0', accessToken: 'open-sesame' });
    const base = `http://127.0.0.1:${server.port}`;
    // Neither printed URL carries the token (issue 12).
    expect(server.pageUrl).not.toContain('open-sesame');
    expect(server.relayUrl).not.toContain('open-sesame');
    const signInPage = await fetch(`${base}/inspector`);
    expect(signInPage.status).toBe(401);
    expect(await signInPage.text()).toContain('action="/inspector/session"');
    // A token in the page URL is not accepted: it would land in logs and history.
    expect((await fetch(`${base}/inspector?token=open-sesame`)).status).toBe(401);
    const signIn = (token: string) => fetch(`${base}/inspector/session`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
    expect((await signIn('wrong')).status).toBe(401);
    const signedIn = await signIn('open-sesame');
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/inspector');
    // The page's own requests then authenticate with the cookie it was given.
    const cookie = signedIn.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(cookie).toMatch(/^rtm_inspector_token=/);
    expect((await fetch(`${base}/inspector`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/inspector/app.js`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/inspector/app.js`)).status).toBe(401);

    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/inspector/relay`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('opened without the token')));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);
    const accepted = new WebSocket(`ws://127.0.0.1:${server.port}/inspector/relay?token=open-sesame`);
    await new Promise<void>((resolve, reject) => {
      accepted.on('open', () => resolve());
      accepted.on('error', reject);
    });
    accepted.close();
    const bearer = new WebSocket(`ws://127.0.0.1:${server.port}/inspector/live`, { headers: { authorization: 'Bearer open-sesame' } });
    await new Promise<void>((resolve, reject) => {
      bearer.on('open', () => resolve());
      bearer.on('error', reject);
    });
    bearer.close();
    // Pages use the cookie or a header; only the relay takes ?token= (for producers without headers).
    const queryPage = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/inspector/live?token=open-sesame`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('opened with the token in the URL')));
      ws.on('error', () => undefined);
    });
    expect(queryPage).toBe(401);
  });
});

describe('R9 demo endpoints', () => {
  let server: InspectorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('R9 hands out tokens, bans and the server timing to loopback callers; bad input gets a coded error', async () => {
    const banned: string[] = [];
    server = await startInspectorServer({
      demo: { rtmUrl: () => 'ws://127.0.0.1:9', createToken: (uid) => `token-for-${uid}`, ban: (uid) => banned.push(uid), timing: { interruptionGraceMs: 1000 } },
    });
    const base = `http://127.0.0.1:${server.port}/inspector/demo`;
    const post = (path: string, body: string) => fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(await (await fetch(`${base}/config`)).json()).toEqual({ rtmUrl: 'ws://127.0.0.1:9', timing: { interruptionGraceMs: 1000 } });
    expect(await (await post('token', JSON.stringify({ uid: 'demo-alice' }))).json()).toEqual({ uid: 'demo-alice', token: 'token-for-demo-alice', rtmUrl: 'ws://127.0.0.1:9', timing: { interruptionGraceMs: 1000 } });
    expect((await post('ban', JSON.stringify({ uid: 'demo-mallory' }))).status).toBe(200);
    expect(banned).toEqual(['demo-mallory']);
    const notJson = await post('token', 'uid=alice');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await (await post('token', JSON.stringify({ uid: '' }))).json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await post('token', 'x'.repeat(5000))).status).toBe(400);
  });

  it('R9 the demo is off unless the server enables it', async () => {
    server = await startInspectorServer({});
    const res = await fetch(`http://127.0.0.1:${server.port}/inspector/demo/config`);
    expect(res.status).toBe(404);
  });
});
