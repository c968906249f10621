/**
 * A TCP load balancer in its own process, in front of the nodes of a cluster (the multi-node
 * storm): each new connection goes to the next node in turn and, when that node refuses (it was
 * killed), to the one after it, as a load balancer with failover does. Bytes are copied as they
 * are; what a node loses when it dies is the cluster's business.
 */
import net from 'node:net';
import { DEFAULT_LISTEN_BACKLOG } from '../../src/server/options.js';
import { announceReady, argValue, serveRequests } from '../lib/ipc.js';

const targets = argValue('targets')
  .split(',')
  .map((url) => Number(new URL(url).port));
let next = 0;
const open = new Set<net.Socket>();

/** Connects to the first node, from `start` on, that accepts; null when none does. */
function connectFrom(start: number, tried = 0): Promise<net.Socket | null> {
  if (tried >= targets.length) return Promise.resolve(null);
  const port = targets[(start + tried) % targets.length]!;
  return new Promise((resolve) => {
    const upstream = net.connect(port, '127.0.0.1');
    upstream.once('connect', () => resolve(upstream));
    upstream.once('error', () => {
      upstream.destroy();
      resolve(connectFrom(start, tried + 1));
    });
  });
}

const server = net.createServer((client) => {
  client.on('error', () => undefined);
  client.pause();
  open.add(client);
  client.once('close', () => open.delete(client));
  const start = next++ % targets.length;
  void connectFrom(start).then((upstream) => {
    if (!upstream || client.destroyed) {
      upstream?.destroy();
      client.destroy();
      return;
    }
    upstream.on('error', () => undefined);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
    client.resume();
  });
});
await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: DEFAULT_LISTEN_BACKLOG }, resolve));
const { port } = server.address() as net.AddressInfo;

serveRequests({
  connections: () => open.size,
  cpu: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  stop: () => {
    for (const socket of open) socket.destroy();
    return new Promise<boolean>((resolve) => server.close(() => resolve(true)));
  },
});
announceReady({ url: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}` });
