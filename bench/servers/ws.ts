/**
 * The floor: a bare `ws` server with no state beyond a uid → socket map, no replay, no
 * validation. `B<payload>` is broadcast to every other socket; `P<uid>\n<payload>` goes to
 * one socket. Payloads are forwarded as they are, without parsing.
 */
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { hostServer } from './host.js';
import { DEFAULT_LISTEN_BACKLOG } from '../../src/server/options.js';

const BROADCAST = 0x42; // 'B'
const PEER = 0x50; // 'P'
const NEWLINE = 0x0a;

await hostServer('ws', async () => {
  // The same listen backlog as our server's default, so a burst of dials meets the same queue.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: DEFAULT_LISTEN_BACKLOG, perMessageDeflate: false, maxPayload: 64 * 1024 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const byUid = new Map<string, WebSocket>();

  wss.on('connection', (socket, request) => {
    const uid = new URL(request.url ?? '/', 'http://localhost').searchParams.get('uid') ?? '';
    byUid.set(uid, socket);
    socket.on('close', () => {
      if (byUid.get(uid) === socket) byUid.delete(uid);
    });
    socket.on('message', (data: Buffer) => {
      if (data[0] === BROADCAST) {
        const payload = data.subarray(1);
        for (const other of wss.clients) {
          if (other !== socket && other.readyState === WebSocket.OPEN) other.send(payload, { binary: false });
        }
      } else if (data[0] === PEER) {
        const nl = data.indexOf(NEWLINE);
        const target = byUid.get(data.toString('latin1', 1, nl));
        if (target?.readyState === WebSocket.OPEN) target.send(data.subarray(nl + 1), { binary: false });
      }
    });
  });

  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    connectionCount: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  };
});
