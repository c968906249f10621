/**
 * Issue 12.3: login tokens never travel in the inspection stream. A real RtmClient logs in
 * while three kinds of producer report it: this package's reporter (another process's view),
 * `@statelyai/inspect` (a producer we do not control, redacted at the relay), and a raw socket
 * sending the token verbatim; the server's own session machines report in-process. No page
 * frame and nothing in the history carries the token.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { createRelayReporter, REDACTED, startInspectorServer, toPlain } from '../../inspector/server/index.js';
import { connectionMachine } from '../../machines/index.js';
import { RtmClient } from '../../src/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { openProducer, openViewer, startBystander, startServer, waitFor } from './inspector-rig.js';

describe('12.3 secrets are redacted before anything leaves the process', () => {
  let server: RtmServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('12.3 the client\'s LOGIN token reaches no page and no history, from the reporter, @statelyai/inspect, a raw producer or the server\'s own actors', async () => {
    server = await startServer();
    const bystander = await startBystander(server);
    const relayUrl = server.inspector!.relayUrl;
    const viewer = await openViewer(relayUrl.replace('/relay', '/live'));
    const reporter = createRelayReporter({ url: relayUrl, label: 'reporter' });
    const stately = createWebSocketInspector({ url: `${relayUrl}?producer=stately` });
    const token = server.createToken('carol');
    const reported = new RtmClient({ url: server.url, inspect: reporter.inspect });
    const statelyReported = new RtmClient({ url: server.url, inspect: stately.inspect });
    const raw = await openProducer(`${relayUrl}?producer=raw`);
    try {
      await reported.login({ uid: 'carol', token });
      await reported.renewToken(token);
      const token2 = server.createToken('dave');
      await statelyReported.login({ uid: 'dave', token: token2 });
      raw.ws.send(JSON.stringify([
        { type: '@xstate.event', sessionId: 'x:0', event: { type: 'LOGIN', uid: 'erin', token: 'plain-secret-value' } },
        { type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'X', auth: `Bearer ${token}` }, snapshot: { value: 'a', context: { accessToken: 'plain-secret-value', nested: [{ password: 'hunter2' }], note: token } } },
      ]));
      const loginOf = (prefix: string) => (m: { type: string; sessionId: string; event?: unknown }) =>
        m.type === '@xstate.event' && m.sessionId.startsWith(prefix) && (m.event as { type?: string }).type === 'LOGIN';
      await waitFor(() => viewer.items.some(loginOf('reporter/')) && viewer.items.some(loginOf('stately/')) && viewer.items.some(loginOf('raw/')), 'every producer\'s LOGIN on the page');
      await waitFor(() => viewer.items.some((m) => m.type === '@xstate.snapshot' && m.sessionId === 'raw/x:0'), 'the raw snapshot');
      for (const prefix of ['reporter/', 'stately/', 'raw/']) {
        const login = viewer.items.find(loginOf(prefix)) as unknown as { event: { token: string; uid: string } };
        expect(login.event.token).toBe(REDACTED);
        expect(login.event.uid).not.toBe(REDACTED);
      }
      const everything = `${viewer.frames.join('\n')}\n${await historyOf(relayUrl)}`;
      for (const secret of [token, token2, 'plain-secret-value', 'hunter2']) expect(everything).not.toContain(secret);
      // Flags that only mention a token stay readable.
      expect(everything).toContain('"tokenExpiryAnnounced":false');
    } finally {
      await reported.logout();
      await statelyReported.logout();
      await reporter.close();
      stately.stop();
      raw.ws.close();
      viewer.ws.close();
    }
    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12.3 the in-process observer redacts too (context and events of a local machine)', async () => {
    const standalone = await startInspectorServer({});
    try {
      const actor = createActor(connectionMachine, { inspect: standalone.inspector.inspect, input: {} }).start();
      actor.send({ type: 'LOGIN', uid: 'alice', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl' });
      actor.stop();
      const history = JSON.stringify(standalone.inspector.relay.replay());
      expect(history).not.toContain('eyJhbGciOiJIUzI1NiJ9');
      expect(history).toContain(REDACTED);
      expect(toPlain({ token: 'abc', sessionKey: 'k', tokenExpiryAnnounced: true, list: ['eyJa.eyJb.c'] })).toEqual({ token: REDACTED, sessionKey: 'k', tokenExpiryAnnounced: true, list: [REDACTED] });
    } finally {
      await standalone.close();
    }
  });
});

/** What a page opened now is sent (the relay's history), as one text. */
async function historyOf(relayUrl: string): Promise<string> {
  const late = await openViewer(relayUrl.replace('/relay', '/live'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  late.ws.close();
  return late.frames.join('\n');
}
