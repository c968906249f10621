/**
 * A load-client process: opens many light connections (connections.ts) to one server, and on
 * request sends paced messages from some of them and counts what every connection receives
 * (per-message bitmaps for losses and duplicates, a latency histogram).
 */
import { announceReady, serveRequests } from '../lib/ipc.js';
import { createHistogram, recordMs, type Histogram } from '../lib/histogram.js';
import { createConnection, type ConnectionSpec, type LoadConnection, type SystemName } from './connections.js';
import { makePayload, readPayload, wallClockMs } from './payload.js';

export interface OpenRequest {
  system: SystemName;
  url: string;
  connections: ConnectionSpec[];
  /** Connections being opened at once. */
  concurrency: number;
}

export interface SenderPlan {
  /** Index into this process's connections. */
  connection: number;
  /** Peer recipient; a channel message when absent. */
  to?: string;
  /** Keys keyBase … keyBase + count − 1 are sent. */
  keyBase: number;
  count: number;
}

export interface SendRequest {
  senders: SenderPlan[];
  /** Messages per second per sender; 0 sends each sender's messages at once. */
  ratePerSender: number;
  /** Give up pacing after this long, whatever is left. */
  boundMs: number;
}

export interface WorkerStats {
  received: number;
  duplicates: number;
  foreign: number;
  hist: Histogram;
  errors: Record<string, number>;
  cpuMicros: number;
  /** Wall clock (ms since the epoch) of the last counted delivery; 0 when none. */
  lastReceiveAtMs: number;
}

const connections: LoadConnection[] = [];
let keySpace = 0;
let seen: Array<Uint8Array | undefined> = [];
let received = 0;
let duplicates = 0;
let foreign = 0;
let hist = createHistogram();
let lastReceiveAtMs = 0;

function onText(index: number, text: string): void {
  const now = wallClockMs();
  const payload = readPayload(text);
  if (!payload || payload.key < 0 || payload.key >= keySpace) {
    foreign++;
    return;
  }
  let bitmap = seen[index];
  if (!bitmap) {
    bitmap = new Uint8Array(keySpace);
    seen[index] = bitmap;
  }
  if (bitmap[payload.key]) {
    duplicates++;
    return;
  }
  bitmap[payload.key] = 1;
  received++;
  lastReceiveAtMs = now;
  recordMs(hist, now - payload.sentAtMs);
}

async function openAll(request: OpenRequest): Promise<{ opened: number; failed: number; firstError?: string }> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const opener = async () => {
    while (next < request.connections.length) {
      const spec = request.connections[next]!;
      const index = connections.length;
      next++;
      const connection = createConnection(request.system, spec.url ?? request.url, spec, (text) => onText(index, text));
      connections.push(connection);
      try {
        await connection.open();
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, request.concurrency) }, opener));
  return { opened: connections.length - failed, failed, ...(firstError ? { firstError } : {}) };
}

/** Messages sent so far by the current (or last) send request. */
let sentSoFar = 0;

function sendPaced(request: SendRequest): Promise<{ sent: number; elapsedMs: number }> {
  const sentBy = request.senders.map(() => 0);
  let sent = 0;
  sentSoFar = 0;
  const total = request.senders.reduce((n, s) => n + s.count, 0);
  const started = performance.now();
  return new Promise((resolve) => {
    const step = () => {
      const elapsed = performance.now() - started;
      request.senders.forEach((plan, i) => {
        // Senders are staggered evenly over one send interval, so the load is smooth, not pulsed.
        const phase = i / request.senders.length;
        const due =
          request.ratePerSender > 0
            ? Math.min(plan.count, Math.floor((elapsed * request.ratePerSender) / 1000 + phase) + (i === 0 ? 1 : 0))
            : plan.count;
        const connection = connections[plan.connection]!;
        while (sentBy[i]! < due) {
          const text = makePayload(plan.keyBase + sentBy[i]!);
          if (plan.to === undefined) connection.sendChannel(text);
          else connection.sendPeer(plan.to, text);
          sentBy[i]!++;
          sent++;
          sentSoFar = sent;
        }
      });
      if (sent >= total || elapsed >= request.boundMs) resolve({ sent, elapsedMs: performance.now() - started });
      else setTimeout(step, 5);
    };
    step();
  });
}

const ticker = setInterval(() => {
  const now = performance.now();
  for (const connection of connections) connection.tick(now);
}, 100);

serveRequests({
  open: (request: OpenRequest) => openAll(request),
  arm: (request: { keySpace: number }) => {
    keySpace = request.keySpace;
    seen = [];
    received = 0;
    duplicates = 0;
    foreign = 0;
    lastReceiveAtMs = 0;
    hist = createHistogram();
    return true;
  },
  send: (request: SendRequest) => sendPaced(request),
  progress: () => sentSoFar,
  stats: (): WorkerStats => {
    const errors: Record<string, number> = {};
    for (const connection of connections) {
      for (const [code, n] of connection.errors) errors[code] = (errors[code] ?? 0) + n;
    }
    const cpu = process.cpuUsage();
    return { received, duplicates, foreign, hist, errors, cpuMicros: cpu.user + cpu.system, lastReceiveAtMs };
  },
  close: () => {
    for (const connection of connections) connection.close();
    connections.length = 0;
    return true;
  },
  stop: () => {
    clearInterval(ticker);
    for (const connection of connections) connection.close();
    return true;
  },
});
announceReady();
