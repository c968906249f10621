/**
 * Issue 12, medium and low items: no producer can pose as one of the server's sessions (the
 * relay assigns ids per producer connection), and the inspector access token travels in a
 * header or a cookie, never in a printed URL or a page URL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { launchBrowser, watchErrors } from '../inspector/browser.js';
import type { InspectionMessage } from '../../inspector/server/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { httpBase, openProducer, openViewer, rawRequest, refusedUpgrade, startBystander, startServer, waitFor } from './inspector-rig.js';

const nameOf = (m: InspectionMessage): string | undefined => (m.type === '@xstate.actor' ? m.name : undefined);

describe('12 inspector identities and the access token', () => {
  let server: RtmServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('12 a producer claiming a server session\'s id and name is shown under its own label; the session keeps its own', async () => {
    server = await startServer();
    const relayUrl = server.inspector!.relayUrl;
    const viewer = await openViewer(relayUrl.replace('/relay', '/live'));
    // It connects first and claims the ids XState gives the server's first actors, and a session's name.
    const impostor = await openProducer(relayUrl);
    for (let i = 0; i < 20; i++) impostor.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: `x:${i}`, name: 'session:bystander-a', snapshot: { value: 'online', context: { uid: 'bystander-a' } } }));
    impostor.ws.send(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'x:0', rootId: 'x:0', event: { type: 'FAKE' }, snapshot: { value: 'banned' } }));
    await waitFor(() => viewer.items.filter((m) => m.type === '@xstate.actor').length >= 20, 'the impostor\'s actors');
    const bystander = await startBystander(server);
    await waitFor(() => viewer.items.some((m) => m.type === '@xstate.actor' && m.name === 'session:bystander-a'), 'the real session');
    const real = viewer.items.filter((m) => m.type === '@xstate.actor' && m.name === 'session:bystander-a');
    expect(real).toHaveLength(1);
    expect(real[0]!.sessionId).not.toContain('/');
    const fakes = viewer.items.filter((m) => m.type === '@xstate.actor' && m.name !== undefined && m.name.endsWith('session:bystander-a') && m !== real[0]);
    expect(fakes).toHaveLength(20);
    for (const fake of fakes) {
      expect(fake.sessionId).toMatch(/^p\d+\/x:\d+$/);
      expect(nameOf(fake)).toMatch(/^p\d+\/session:bystander-a$/);
    }
    // The impostor's snapshot went to its own actor, never to the real session.
    const fake = viewer.items.find((m) => m.type === '@xstate.snapshot' && (m.event as { type: string }).type === 'FAKE');
    expect(fake?.sessionId).toMatch(/^p\d+\/x:0$/);
    expect(fake?.rootId).toMatch(/^p\d+\/x:0$/);
    // Asking for a label in use gets another one.
    const first = await openProducer(`${relayUrl}?producer=app`);
    const second = await openProducer(`${relayUrl}?producer=app`);
    first.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', name: 'one' }));
    second.ws.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', name: 'two' }));
    await waitFor(() => viewer.items.some((m) => nameOf(m)?.endsWith('/two') === true), 'the second app');
    expect(viewer.items.find((m) => nameOf(m) === 'app/one')?.sessionId).toBe('app/x:0');
    expect(viewer.items.find((m) => nameOf(m)?.endsWith('/two') === true)?.sessionId).toMatch(/^p\d+\/x:0$/);
    for (const producer of [impostor, first, second]) producer.ws.close();
    viewer.ws.close();
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12 the access token is exchanged for a cookie, is never in a printed URL, and pages refuse it in their URL', async () => {
    server = await startServer({ inspectorAccessToken: 'ops-secret' });
    const bystander = await startBystander(server);
    expect(server.inspector!.pageUrl).not.toContain('ops-secret');
    expect(server.inspector!.relayUrl).not.toContain('ops-secret');
    const base = httpBase(server);
    expect((await rawRequest(`${base}/inspector?token=ops-secret`)).status).toBe(401);
    const signIn = await rawRequest(`${base}/inspector/session`, { method: 'POST', headers: { authorization: 'Bearer ops-secret' } });
    expect(signIn.status).toBe(303);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect(String(signIn.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await rawRequest(`${base}/inspector`, { headers: { cookie } })).status).toBe(200);
    const viewer = await openViewer(`${server.url}/inspector/live`, { cookie });
    viewer.ws.close();
    const refused = await refusedUpgrade(`${server.url}/inspector/live?token=ops-secret`);
    expect(refused).toMatchObject({ status: 401 });
    expect(refused.body).toMatch(/access token required/);
    // A cross-origin form cannot sign a browser in (login CSRF): Origin is checked first.
    const foreign = await rawRequest(`${base}/inspector/session`, { method: 'POST', headers: { origin: 'http://127.0.0.1:1', 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=ops-secret' });
    expect(foreign.status).toBe(403);
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12 in Chromium, the sign-in form exchanges the token for the cookie and the page then follows the live stream', async () => {
    server = await startServer({ inspectorAccessToken: 'ops-secret' });
    const bystander = await startBystander(server);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.goto(server.inspector!.pageUrl);
      await page.locator('input[name="token"]').fill('ops-secret');
      await Promise.all([page.waitForURL(/\/inspector$/), page.locator('button[type="submit"]').click()]);
      // The page, its bundle and its live socket all authenticate with the cookie.
      await page.locator('.actor-list li', { hasText: 'bystander-a' }).first().waitFor({ timeout: 20_000 });
      expect(page.url()).not.toContain('ops-secret');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });
});
