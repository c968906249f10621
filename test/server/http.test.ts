/** The HTTP side of the server: /healthz, the inspector on the same port, binding rules (R9). */
import { afterEach, describe, expect, it } from 'vitest';
import { createRtmServer } from '../../src/server/index.js';
import { Harness, RawClient, until, type Frame } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

const httpOf = (url: string) => url.replace(/^ws:/, 'http:');

describe('HTTP endpoints', () => {
  it('GET /healthz answers JSON with the counts', async () => {
    const server = await h.server();
    await h.login(server, 'alice');
    const res = await fetch(`${httpOf(server.url)}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', connections: 1, sessions: 1 });
    expect((await fetch(`${httpOf(server.url)}/nothing`)).status).toBe(404);
    expect((await fetch(httpOf(server.url))).status).toBe(426);
  });

  it('R9 serves the inspector page and relay on the same port, and session actors are inspected', async () => {
    const server = await h.server({ inspector: true });
    expect(server.inspector?.pageUrl).toBe(`${httpOf(server.url)}/inspector`);
    expect(server.inspector?.relayUrl).toBe(`${server.url}/inspector/relay`);
    const page = await fetch(server.inspector!.pageUrl);
    expect(page.status).toBe(200);
    await page.text();
    await h.login(server, 'alice');
    expect((await fetch(`${httpOf(server.url)}/healthz`)).status).toBe(200);
  });

  it('R9 every session actor reports to the inspector: its chart and its presence state live', async () => {
    const server = await h.server({ inspector: true });
    const alice = await h.login(server, 'alice');
    const page = await RawClient.connect(`${server.url}/inspector/live`, { protocols: [], pingEveryMs: 0 });
    const items = (): Frame[] => page.all((f) => f.t === 'items').flatMap((f) => f.items as Frame[]);
    await page.next((f) => f.t === 'items' && f.items.some((m: Frame) => m.type === '@xstate.actor' && String(m.definition).includes('"id":"session"')));
    alice.client.terminate();
    await until(() => items().some((m) => m.type === '@xstate.snapshot' && m.snapshot?.value === 'away'), 5000, 'away snapshot');
    page.terminate();
  });

  it('without the inspector there is no inspector page', async () => {
    const server = await h.server({ inspector: false });
    expect(server.inspector).toBeUndefined();
    expect((await fetch(`${httpOf(server.url)}/inspector`)).status).toBe(404);
  });

  it('R9 the inspector on a non-loopback host needs an access token', async () => {
    await expect(createRtmServer({ port: 0, host: '0.0.0.0', inspector: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('close() ends every socket with 4004 and frees the port', async () => {
    const server = await h.server();
    const { client } = await h.login(server, 'alice');
    await server.close();
    expect((await client.closed).code).toBe(4004);
    await expect(fetch(`${httpOf(server.url)}/healthz`)).rejects.toThrow();
  });
});
