/**
 * Socket.IO 4 as its documentation recommends for this job: rooms for channels, a room per
 * uid for peer messages, and connection state recovery on (missed room broadcasts are
 * replayed to a client that comes back within maxDisconnectionDuration). WebSocket transport
 * only: the load clients never long-poll. With `--redis URL` it is one node of a cluster, through
 * `@socket.io/redis-streams-adapter` (the adapter its documentation offers for connection state
 * recovery across nodes).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { argValue } from '../lib/ipc.js';
import { hostServer } from './host.js';
import { DEFAULT_LISTEN_BACKLOG } from '../../src/server/options.js';

interface Auth {
  uid?: string;
  room?: string;
}

await hostServer('socketio', async () => {
  const http = createServer();
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: true },
  });

  const redisUrl = argValue('redis', '');
  let redisClient: { quit(): Promise<unknown> } | null = null;
  if (redisUrl) {
    const [{ createClient }, { createAdapter }] = await Promise.all([import('redis'), import('@socket.io/redis-streams-adapter')]);
    const client = createClient({ url: redisUrl });
    client.on('error', () => undefined);
    await client.connect();
    redisClient = client;
    io.adapter(createAdapter(client));
  }

  io.on('connection', (socket) => {
    const { uid = socket.id, room } = socket.handshake.auth as Auth;
    if (!socket.recovered) {
      void socket.join(uid);
      if (room) void socket.join(room);
    }
    socket.on('chan', (m: { room: string; text: string }) => {
      socket.to(m.room).emit('msg', { from: uid, text: m.text });
    });
    socket.on('peer', (m: { to: string; text: string }) => {
      io.to(m.to).emit('pmsg', { from: uid, text: m.text });
    });
  });

  // The same listen backlog as our server's default, so a burst of dials meets the same queue.
  await new Promise<void>((resolve) => http.listen({ port: 0, host: '127.0.0.1', backlog: DEFAULT_LISTEN_BACKLOG }, resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connectionCount: () => io.engine.clientsCount,
    close: () =>
      new Promise<void>((resolve) => {
        io.disconnectSockets(true);
        void io.close(() => {
          void redisClient?.quit().catch(() => undefined);
          resolve();
        });
      }),
  };
});
