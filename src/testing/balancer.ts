/**
 * A TCP load balancer for tests of several server nodes: each new connection goes to the first
 * of the ports `ports()` names (asked per connection, so an order can rotate or prefer a node)
 * that accepts it, as a balancer with failover in front of a cluster does; a killed node refuses
 * and the next one is tried. Bytes are copied as they are.
 */
import net from 'node:net';
import { DEFAULT_LISTEN_BACKLOG } from '../server/options.js';

export interface Balancer {
  /** 'ws://127.0.0.1:PORT' */
  readonly url: string;
  readonly port: number;
  /** Connections through it now. */
  readonly connectionCount: number;
  /** Closes every connection through it (the next dials go through). */
  cut(): void;
  close(): Promise<void>;
}

export async function createBalancer(ports: () => readonly number[]): Promise<Balancer> {
  const clients = new Set<net.Socket>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    clients.add(client);
    sockets.add(client);
    client.on('close', () => {
      clients.delete(client);
      sockets.delete(client);
    });
    client.on('error', () => client.destroy());
    client.pause();
    const candidates = ports();
    const tryNext = (i: number): void => {
      if (i >= candidates.length || client.destroyed) return void client.destroy();
      const upstream = net.connect(candidates[i]!, '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', () => {
        upstream.destroy();
        if (!connected) tryNext(i + 1);
        else client.destroy();
      });
    };
    tryNext(0);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: DEFAULT_LISTEN_BACKLOG }, () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    get connectionCount() {
      return clients.size;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
