/**
 * The link's socket adapter keeps the server hearing from a client whose heartbeat timer runs
 * late. A client process busy with a reconnect storm reads frames for seconds without reaching
 * its timers; before the keepalive, the server closed such healthy links for silence (4003)
 * and every one of them reconnected a second time (the one-process storm bench: a fifth to a
 * half of 2000 clients, 3.5 s after the restore).
 * The clock is stepped by hand (Date.now), and the WebSocket is a recording stand-in: what is
 * checked is which frames the adapter writes, not any timing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SocketEvent } from '../../machines/link.machine.js';
import { resolveTiming } from '../../machines/timing.js';
import { LinkSocket } from '../../src/client/link.js';
import type { WebSocketLike } from '../../src/client/socket.js';

const INTERVAL_MS = 1000;

class RecordingWebSocket implements WebSocketLike {
  static last: RecordingWebSocket | null = null;
  readyState = 0;
  readonly sent: string[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(_url: string, _protocols?: string | string[]) {
    RecordingWebSocket.last = this;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** The frame types written so far, one per frame (a message may carry several). */
  types(): string[] {
    return this.sent.flatMap((message) => message.split('\n').map((line) => (JSON.parse(line) as { t: string }).t));
  }
}

const grantFrame = {
  t: 'res',
  id: 0,
  ok: true,
  data: {
    sessionId: 's1',
    sessionExpired: false,
    heartbeatIntervalMs: INTERVAL_MS,
    heartbeatTimeoutMs: 2 * INTERVAL_MS,
    serverTime: 1_700_000_000_000,
    epoch: 'e1',
    sendRatePerSecond: 0,
    inboxDropped: 0,
  },
};
const channelFrame = (seq: number) => ({ t: 'channel.msg', channel: 'c', seq, from: 'bob', msgId: `m${seq}`, text: 'hi', ts: 1_700_000_000_000, historical: false });

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('link socket keepalive (R3.1)', () => {
  let now = 1_000_000;
  beforeEach(() => {
    now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => vi.restoreAllMocks());

  async function upLink(): Promise<{ ws: RecordingWebSocket; events: SocketEvent[]; link: LinkSocket }> {
    const link = new LinkSocket(
      { url: 'ws://test.invalid', timing: resolveTiming(), WebSocket: RecordingWebSocket },
      { resumePoint: () => ({ peerSeq: 0, channels: [] }), onFrame: () => undefined },
    );
    const events: SocketEvent[] = [];
    link.attach((event) => events.push(event));
    link.open();
    await flush();
    const ws = RecordingWebSocket.last!;
    ws.open();
    link.sendHello({ uid: 'alice', token: '', sessionId: null });
    await flush();
    ws.deliver(grantFrame);
    expect(events.map((e) => e.type)).toEqual(['SOCKET_OPEN', 'GRANTED']);
    return { ws, events, link };
  }

  it('R3.1 a link that reads frames for a heartbeat interval without sending anything sends a ping while reading, its timer not needed', async () => {
    const { ws } = await upLink();
    expect(ws.types()).toEqual(['login']);
    // Frames keep arriving; the heartbeat timer never gets to run (a busy event loop).
    for (let seq = 1; seq <= 9; seq++) {
      now += INTERVAL_MS / 4;
      ws.deliver(channelFrame(seq));
      await flush();
    }
    // 2.25 intervals of reading: a ping at the first frame an interval after the login, and again an interval later.
    expect(ws.types()).toEqual(['login', 'ping', 'ping']);
  });

  it('R3.1 a link that sends (the app is talking) needs no keepalive while reading', async () => {
    const { ws, link } = await upLink();
    for (let seq = 1; seq <= 9; seq++) {
      now += INTERVAL_MS / 4;
      link.transmit({ t: 'peer.send', id: seq, to: 'bob', msgId: `a${seq}`, text: 'x', offline: false });
      ws.deliver(channelFrame(seq));
      await flush();
    }
    expect(ws.types().filter((t) => t === 'ping')).toEqual([]);
  });

  it('R3.1 the heartbeat probe pings an idle link, and skips the ping a keepalive sent within the last half interval', async () => {
    const { ws, link } = await upLink();
    now += INTERVAL_MS;
    link.probeHeartbeat(2 * INTERVAL_MS);
    ws.deliver({ t: 'pong' });
    await flush();
    expect(ws.types()).toEqual(['login', 'ping']);
    // A frame an interval later draws a keepalive; the probe just after it has nothing to add.
    now += INTERVAL_MS;
    ws.deliver(channelFrame(1));
    await flush();
    expect(ws.types()).toEqual(['login', 'ping', 'ping']);
    now += INTERVAL_MS / 4;
    link.probeHeartbeat(2 * INTERVAL_MS);
    await flush();
    expect(ws.types()).toEqual(['login', 'ping', 'ping']);
  });
});
