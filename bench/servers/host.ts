/**
 * Runs one benchmarked server inside its own process and answers the parent's measurement
 * requests. Server CPU is read here with `process.cpuUsage()`, so the load clients' work
 * (in other processes) never counts toward it.
 */
import { writeHeapSnapshot } from 'node:v8';
import { announceReady, serveRequests } from '../lib/ipc.js';

export interface HostedServer {
  url: string;
  /** Open connections as the server sees them. */
  connectionCount(): number;
  close(): Promise<void>;
  /** Extra requests this server answers (for example `tokens`). */
  handlers?: Record<string, (payload: any) => unknown>;
}

export interface CpuSample {
  /** Microseconds of CPU (user + system) since the process started. */
  cpuMicros: number;
  userMicros: number;
  systemMicros: number;
  /** performance.now() at the sample, ms. */
  atMs: number;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  connections: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function settledMemory(server: HostedServer): Promise<MemorySample> {
  // Several collections with pauses in between, so lazily freed memory is gone before reading.
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    connections: server.connectionCount(),
  };
}

export async function hostServer(kind: string, start: () => Promise<HostedServer>): Promise<void> {
  const server = await start();
  serveRequests({
    cpu: (): CpuSample => {
      const u = process.cpuUsage();
      return { cpuMicros: u.user + u.system, userMicros: u.user, systemMicros: u.system, atMs: performance.now() };
    },
    memory: () => settledMemory(server),
    connections: () => server.connectionCount(),
    heapSnapshot: (request: { file: string }) => {
      gc?.();
      return writeHeapSnapshot(request.file);
    },
    stop: async () => {
      await Promise.race([server.close(), new Promise((r) => setTimeout(r, 3000))]);
      return true;
    },
    ...server.handlers,
  });
  announceReady({ url: server.url, kind, gcExposed: gc !== undefined });
}
