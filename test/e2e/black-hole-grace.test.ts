/**
 * Issue 16 / R3.2 at the real default timing (no timing passed to client or server): the grace
 * counts from the link's last sign of life. A black-holed link is only declared down when the
 * heartbeat times out (about 3 s of silence here); RECONNECTING / INTERRUPTED must still come
 * 4 s after the last frame received, plus at most one heartbeat interval (1 s), not 4 s after
 * the heartbeat noticed. The last frame's time is read off the client's own WebSocket: the app's
 * `WebSocket` option, a `ws` subclass that notes when each message arrives.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultTiming, RtmClient } from '../../src/index.js';
import { createRtmServer } from '../../src/server/index.js';
import { createFaultProxy } from '../../src/testing/index.js';
import { recordStates, waitFor } from './harness.js';

let lastFrameAt = 0;

class NotingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { perMessageDeflate: false });
    this.on('message', () => {
      lastFrameAt = Date.now();
    });
  }
}

describe('R3.2 the grace counts from the last frame (default timing)', () => {
  it('R3.2 16 a black-holed link: RECONNECTING / INTERRUPTED 4 s (+ at most one heartbeat interval) after the last frame', { timeout: 30_000 }, async () => {
    const server = await createRtmServer({ port: 0, inspector: false });
    const proxy = await createFaultProxy({ target: server.url });
    const client = new RtmClient({ url: proxy.url, WebSocket: NotingWebSocket as never });
    try {
      await client.login({ uid: 'alice', token: server.createToken('alice') });
      // Let the heartbeat run a little, so the last frame is a pong like on any idle link.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const states = recordStates(client);
      proxy.blackhole();
      await waitFor(() => states.length > 0, 'RECONNECTING', 15_000);
      const interruptedAt = Date.now();
      expect(states).toEqual(['RECONNECTING/INTERRUPTED']);
      const sinceLastFrame = interruptedAt - lastFrameAt;
      expect(sinceLastFrame).toBeGreaterThanOrEqual(defaultTiming.interruptionGraceMs - 20);
      // One heartbeat interval (1 s at this grace) and a margin for a loaded machine.
      expect(sinceLastFrame).toBeLessThanOrEqual(defaultTiming.interruptionGraceMs + 1000 + 300);
    } finally {
      await client.logout();
      client.actor.stop();
      await proxy.close();
      await server.close();
    }
  });
});
