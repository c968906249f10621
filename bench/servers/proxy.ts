/**
 * The fault proxy (src/testing) in its own process, in front of one server: the storm
 * scenario cuts every connection through it at once, refuses new ones for the outage, then
 * restores it. A process of its own so its copying costs neither the server nor the clients.
 */
import { announceReady, argValue, serveRequests } from '../lib/ipc.js';
import { builtPackage } from '../lib/package.js';

const { createFaultProxy } = await builtPackage('/testing');

const target = argValue('target');
const proxy = await createFaultProxy({ target: target.replace(/^http/, 'ws') });

const now = () => performance.timeOrigin + performance.now();
let restored: Promise<number> | null = null;

serveRequests({
  /**
   * Cut every open connection and refuse new ones for `durationMs`, then restore. The restore
   * is timed here, in the proxy, so a busy parent cannot stretch the outage.
   */
  outage: (request: { durationMs: number }) => {
    const startedAt = now();
    proxy.refuse();
    const open = proxy.connectionCount;
    proxy.cut();
    restored = new Promise((resolve) => {
      setTimeout(() => {
        proxy.restore();
        resolve(now());
      }, Math.max(0, startedAt + request.durationMs - now()));
    });
    return { cut: open, atMs: startedAt };
  },
  /** Resolves with the moment of the restore (ms since the epoch). */
  restored: async () => ({ atMs: await restored }),
  connections: () => proxy.connectionCount,
  cpu: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  stop: () => proxy.close(),
});
announceReady({ url: proxy.url, httpUrl: proxy.url.replace(/^ws/, 'http') });
