/**
 * A TCP proxy that stands between a client and a server and breaks the network on demand, so
 * that tests exercise real sockets with real faults:
 *  - `cut()`       closes every open connection (the next dial goes through);
 *  - `refuse()`    stops listening, so new connections are refused by the operating system
 *                  (ECONNREFUSED: the server looks unreachable) while open ones stay;
 *  - `blackhole()` keeps every connection open but drops all bytes both ways, new ones included
 *                  (`blackhole('toClient')` drops only what the server sends: requests arrive,
 *                  answers are lost);
 *  - `silent()`    accepts new connections and never forwards them (a server that never answers);
 *  - `restore()`   forwards again. Connections that lost bytes in a black hole or were never
 *                  forwarded cannot carry a WebSocket any more and are closed.
 */
import net from 'node:net';
import { DEFAULT_LISTEN_BACKLOG } from '../server/options.js';

export interface FaultProxyOptions {
  /** Where to forward: a ws:// URL or host and port. */
  target: string | { host: string; port: number };
  /**
   * Connections the kernel may queue for the proxy to accept. Default: the server's default
   * (4096; Node's is 511): the proxy plays the network, which does not drop a burst of dials.
   */
  backlog?: number;
  /** Where to listen; default 127.0.0.1 on a free port. */
  host?: string;
  port?: number;
}

export type FaultMode = 'pass' | 'refuse' | 'blackhole' | 'silent';
export type BlackholeDirection = 'both' | 'toClient';

export interface FaultProxy {
  /** ws://host:port of the proxy, for the client. */
  readonly url: string;
  readonly port: number;
  readonly mode: FaultMode;
  /** Connections currently open through the proxy. */
  readonly connectionCount: number;
  /** Connections accepted since the proxy started (refused ones not counted): counts dial attempts. */
  readonly acceptedCount: number;
  cut(): void;
  refuse(): void;
  blackhole(direction?: BlackholeDirection): void;
  silent(): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  /** Bytes are being dropped (black hole) or were never forwarded (silent). */
  broken: boolean;
  /** Only server → client bytes are dropped. */
  oneWay: boolean;
}

function parseTarget(target: FaultProxyOptions['target']): { host: string; port: number } {
  if (typeof target !== 'string') return target;
  const url = new URL(target);
  return { host: url.hostname, port: Number(url.port || (url.protocol === 'wss:' ? 443 : 80)) };
}

export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = parseTarget(options.target);
  const host = options.host ?? '127.0.0.1';
  const backlog = options.backlog ?? DEFAULT_LISTEN_BACKLOG;
  const pairs = new Set<Pair>();
  let mode: FaultMode = 'pass';
  let direction: BlackholeDirection = 'both';
  let accepted = 0;

  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'refuse') {
      // Accepted just before refuse() stopped the listener.
      client.destroy();
      return;
    }
    accepted += 1;
    const oneWay = mode === 'blackhole' && direction === 'toClient';
    const pair: Pair = { client, upstream: null, broken: mode !== 'pass', oneWay };
    pairs.add(pair);
    client.on('close', () => drop(pair));
    if (pair.broken && !pair.oneWay) {
      client.resume(); // read and discard
      return;
    }
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.on('data', (chunk) => {
      if (!pair.broken || pair.oneWay) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.broken) client.write(chunk);
    });
    upstream.on('close', () => {
      // In a black hole even the server's FIN is lost: the client must find out by itself.
      if (pair.broken) pair.upstream = null;
      else drop(pair);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host, backlog }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  // A re-listen that fails (the port taken meanwhile) must not crash the process: it shows as
  // refused connections, and close() reports it.
  let listenError: Error | null = null;
  server.on('error', (error) => {
    listenError = error;
  });
  /** Every mode but 'refuse' accepts; refusing closes the listening socket itself. */
  const setMode = (next: FaultMode) => {
    mode = next;
    if (next === 'refuse' && server.listening) server.close();
    else if (next !== 'refuse' && !server.listening) server.listen({ port, host, backlog });
  };

  return {
    url: `ws://${host}:${port}`,
    port,
    get mode() {
      return mode;
    },
    get connectionCount() {
      return pairs.size;
    },
    get acceptedCount() {
      return accepted;
    },
    cut() {
      for (const pair of [...pairs]) drop(pair);
    },
    refuse() {
      setMode('refuse');
    },
    blackhole(which: BlackholeDirection = 'both') {
      setMode('blackhole');
      direction = which;
      for (const pair of pairs) {
        pair.broken = true;
        pair.oneWay = which === 'toClient';
      }
    },
    silent() {
      setMode('silent');
    },
    restore() {
      setMode('pass');
      for (const pair of [...pairs]) if (pair.broken) drop(pair);
    },
    async close() {
      // The server emits 'close' once it stopped listening and its last socket is gone; if both
      // were already so, it has emitted it before.
      const pending = server.listening || pairs.size > 0;
      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      setMode('refuse');
      for (const pair of [...pairs]) drop(pair);
      if (pending) await closed;
      if (listenError) throw listenError;
    },
  };
}
