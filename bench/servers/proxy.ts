/**
 * The fault proxy (src/testing) in its own process, in front of one server: the storm
 * scenario cuts every connection through it at once, refuses new ones for the outage, then
 * restores it. A process of its own so its copying costs neither the server nor the clients.
 */
import { createFaultProxy } from '../../src/testing/index.js';
import { announceReady, argValue, serveRequests } from '../lib/ipc.js';

const target = argValue('target');
const proxy = await createFaultProxy({ target: target.replace(/^http/, 'ws') });

serveRequests({
  /** Cut every open connection and refuse new ones: the outage starts. */
  outage: () => {
    proxy.refuse();
    const open = proxy.connectionCount;
    proxy.cut();
    return { cut: open, atMs: performance.timeOrigin + performance.now() };
  },
  restore: () => {
    proxy.restore();
    return { atMs: performance.timeOrigin + performance.now() };
  },
  connections: () => proxy.connectionCount,
  stop: () => proxy.close(),
});
announceReady({ url: proxy.url, httpUrl: proxy.url.replace(/^ws/, 'http') });
