/**
 * The link's heartbeat on a busy process: frames that arrived while the event loop was stalled
 * are read before the link is judged silent, so a stall longer than the heartbeat timeout does
 * not pass for a dead link. The server runs in a child process, so it keeps talking while this
 * process is blocked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmClient } from '../../src/client/client.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';

/** Grants a session with a 100 / 300 ms heartbeat, answers pings, and sends a pong every 20 ms. */
const SERVER = `
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => '${SUBPROTOCOL}' });
wss.on('connection', (ws) => {
  const chatter = setInterval(() => ws.send(JSON.stringify({ t: 'pong' })), 20);
  ws.on('close', () => clearInterval(chatter));
  ws.on('message', (data) => {
    for (const line of String(data).split('\\n')) {
      const frame = JSON.parse(line);
      if (frame.t === 'login') {
        const data = { sessionId: 's1', sessionExpired: false, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300, serverTime: Date.now(), epoch: 'e1', sendRatePerSecond: 60, inboxDropped: 0 };
        ws.send(JSON.stringify({ t: 'res', id: frame.id, ok: true, data }));
      } else if (frame.t === 'ping') ws.send(JSON.stringify({ t: 'pong' }));
    }
  });
});
wss.on('listening', () => console.log(wss.address().port));
`;

let server: ChildProcess | null = null;
let client: RtmClient | null = null;
afterEach(async () => {
  await client?.logout();
  client?.actor.stop();
  server?.kill();
});

function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // A busy event loop: nothing is read, no timer runs.
  }
}

describe('link heartbeat', () => {
  it('R3.1 a stall longer than the heartbeat timeout, with frames arriving meanwhile, does not drop the link', async () => {
    server = spawn(process.execPath, ['--input-type=module', '-e', SERVER], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
    const port = Number(String(chunk).trim());
    client = new RtmClient({ url: `ws://127.0.0.1:${port}` });
    const linkStates: string[] = [];
    await client.login({ uid: 'alice', token: 't' });
    const link = client.actor.getSnapshot().children.link!;
    link.subscribe((snapshot: { value: unknown }) => void linkStates.push(JSON.stringify(snapshot.value)));
    expect(link.getSnapshot().value).toEqual({ attempt: 'up' });
    await new Promise((r) => setTimeout(r, 150));
    // Twice the 300 ms timeout without reading anything, while the server keeps sending.
    block(600);
    await new Promise((r) => setTimeout(r, 400));
    expect(linkStates.every((value) => value === JSON.stringify({ attempt: 'up' }))).toBe(true);
    expect(link.getSnapshot().value).toEqual({ attempt: 'up' });
    expect(client.actor.getSnapshot().value).toEqual({ CONNECTED: 'linkUp' });
  });
});
