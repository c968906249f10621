/**
 * One system under test: its server process and a few load-client processes, plus the
 * helpers every scenario needs (tokens, opening connections, running a send phase and
 * collecting what was delivered, reading server CPU and memory).
 */
import type { CpuSample, MemorySample } from '../servers/host.js';
import type { ConnectionSpec } from '../load/connections.js';
import type { OpenRequest, SendRequest, SenderPlan, WorkerStats } from '../load/worker.js';
import { createHistogram, mergeInto, type Histogram } from './histogram.js';
import { startChild, type ChildHandle } from './processes.js';
import { SERVER_ENTRY, type SystemName } from './systems.js';
import type { BenchContext } from './context.js';
import { wallClockMs } from '../load/payload.js';

export interface Cluster {
  system: SystemName;
  /** The first node's URL (the only one of a single-node cluster). */
  url: string;
  /** The first node. */
  server: ChildHandle;
  /** Every node, and its URL, in the same order (one for a single server). */
  servers: ChildHandle[];
  urls: string[];
  workers: ChildHandle[];
}

/**
 * With --profile, our server's CPU is profiled over a scenario's measured phases only
 * (bench/results/profiles-<run>/<scenario>-server.cpuprofile).
 */
export async function startProfile(ctx: BenchContext, process: ChildHandle, system: SystemName): Promise<void> {
  if (ctx.profileDir && system === 'rtm') await process.request('profileStart');
}

export async function stopProfile(ctx: BenchContext, process: ChildHandle, system: SystemName, name: string): Promise<void> {
  if (ctx.profileDir && system === 'rtm') await process.request('profileStop', { file: `${ctx.profileDir}/${name}.cpuprofile` });
}

export async function startCluster(
  system: SystemName,
  workerCount: number,
  ctx: BenchContext,
  options: { exposeGc?: boolean } = {},
): Promise<Cluster> {
  const nodeFlags: string[] = [];
  if (options.exposeGc) nodeFlags.push('--expose-gc');
  const server = await startChild(`${system} server`, SERVER_ENTRY[system], [], { nodeFlags });
  try {
    const workers = await startWorkers(system, workerCount);
    const url = String(server.ready['url']);
    return { system, url, server, servers: [server], urls: [url], workers };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

function startWorkers(system: SystemName, count: number): Promise<ChildHandle[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startChild(`${system} load ${i}`, 'load/worker.ts', [])));
}

/**
 * `nodes` server processes of one system sharing one Redis (ours: `redis` with one secret and a
 * node id each; Socket.IO: the Redis streams adapter), and the load processes.
 */
export async function startNodeCluster(system: SystemName, nodes: number, workerCount: number, redisUrl: string): Promise<Cluster> {
  const secret = `bench-cluster-secret-${process.pid}-${Date.now()}`;
  const servers: ChildHandle[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      servers.push(
        await startChild(`${system} node ${i}`, SERVER_ENTRY[system], ['--redis', redisUrl, '--secret', secret, '--node-id', `bench-node-${i}`]),
      );
    }
    const workers = await startWorkers(system, workerCount);
    const urls = servers.map((s) => String(s.ready['url']));
    return { system, url: urls[0]!, server: servers[0]!, servers, urls, workers };
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
}

/**
 * Starts the clusters of a scenario. In a full run each starts when its turn comes, so that no
 * start-up work overlaps another system's measurement; in a --quick run (where timings are
 * not the point) all start at once, which saves a few seconds a scenario.
 */
export function clusterLauncher(
  systems: SystemName[],
  ctx: BenchContext,
  launch: (system: SystemName) => Promise<Cluster>,
): (system: SystemName) => Promise<Cluster> {
  if (!ctx.quick) return launch;
  const started = new Map(systems.map((s) => [s, launch(s)] as const));
  for (const p of started.values()) p.catch(() => undefined);
  return (system) => started.get(system) ?? launch(system);
}

export async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.workers.map((w) => w.stop()));
  await Promise.all(cluster.servers.map((s) => s.stop()));
}

/** Login tokens (ours), or nothing for systems without authentication. */
export async function tokensFor(cluster: Cluster, uids: string[]): Promise<Array<string | undefined>> {
  if (cluster.system !== 'rtm') return uids.map(() => undefined);
  return cluster.server.request<string[]>('tokens', { uids });
}

/** Opens `specs[i]` on worker `assign(i)`; fails the scenario if any connection failed. */
export async function openConnections(
  cluster: Cluster,
  specs: ConnectionSpec[],
  assign: (index: number) => number,
  concurrency = 100,
): Promise<number[][]> {
  const perWorker: ConnectionSpec[][] = cluster.workers.map(() => []);
  /** For each worker, the global indexes of its connections, in its local order. */
  const globalIndexes: number[][] = cluster.workers.map(() => []);
  specs.forEach((spec, i) => {
    const w = assign(i);
    perWorker[w]!.push(spec);
    globalIndexes[w]!.push(i);
  });
  const results = await Promise.all(
    cluster.workers.map((worker, w) =>
      worker.request<{ opened: number; failed: number; firstError?: string }>(
        'open',
        { system: cluster.system, url: cluster.url, connections: perWorker[w]!, concurrency } satisfies OpenRequest,
        180_000,
      ),
    ),
  );
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${specs.length} connections failed to open: ${results.find((r) => r.firstError)?.firstError}`);
  return globalIndexes;
}

/** Server CPU, summed over the cluster's nodes. */
export async function serverCpu(cluster: Cluster): Promise<CpuSample> {
  const samples = await Promise.all(cluster.servers.map((s) => s.request<CpuSample>('cpu')));
  return samples.reduce((sum, s) => ({
    cpuMicros: sum.cpuMicros + s.cpuMicros,
    userMicros: sum.userMicros + s.userMicros,
    systemMicros: sum.systemMicros + s.systemMicros,
    atMs: sum.atMs,
  }));
}

/** Each node's CPU, in the order of `cluster.servers`. */
export async function nodeCpus(cluster: Cluster): Promise<number[]> {
  return (await Promise.all(cluster.servers.map((s) => s.request<CpuSample>('cpu')))).map((s) => s.cpuMicros);
}

export async function serverMemory(cluster: Cluster): Promise<MemorySample> {
  return cluster.server.request<MemorySample>('memory');
}

export interface PhaseResult {
  sent: number;
  expected: number;
  received: number;
  duplicates: number;
  lost: number;
  hist: Histogram;
  /** Server CPU (µs) from just before the first send until everything was delivered. */
  serverCpuMicros: number;
  /** Load processes' CPU (µs) over the same span. */
  clientCpuMicros: number;
  /** From the first send to the last delivery, ms. */
  spanMs: number;
  /** Error answers and closes in this phase, by code. */
  errors: Record<string, number>;
  /** … and since the connections were opened. */
  errorsSinceOpen: Record<string, number>;
}

export interface PhaseSpec {
  /** Per worker, the senders it drives. */
  senders: SenderPlan[][];
  keySpace: number;
  ratePerSender: number;
  expected: number;
  sendBoundMs: number;
  /** After sending, wait at most this long for the deliveries to arrive. */
  drainBoundMs: number;
}

async function collect(cluster: Cluster): Promise<WorkerStats[]> {
  return Promise.all(cluster.workers.map((w) => w.request<WorkerStats>('stats')));
}

export async function runPhase(cluster: Cluster, spec: PhaseSpec): Promise<PhaseResult> {
  await Promise.all(cluster.workers.map((w) => w.request('arm', { keySpace: spec.keySpace })));
  const before = await collect(cluster);
  const cpu0 = await serverCpu(cluster);
  const startWall = wallClockMs();
  const sends = await Promise.all(
    cluster.workers.map((w, i) =>
      w.request<{ sent: number }>(
        'send',
        { senders: spec.senders[i] ?? [], ratePerSender: spec.ratePerSender, boundMs: spec.sendBoundMs } satisfies SendRequest,
        spec.sendBoundMs + 30_000,
      ),
    ),
  );
  const sent = sends.reduce((n, s) => n + s.sent, 0);
  const drainDeadline = performance.now() + spec.drainBoundMs;
  let stats = await collect(cluster);
  let lastTotal = -1;
  let stillSince = performance.now();
  for (;;) {
    const total = stats.reduce((n, s) => n + s.received, 0);
    if (total >= spec.expected || performance.now() > drainDeadline) break;
    // Stop waiting early when nothing has arrived for 2 s: what is missing is lost.
    if (total !== lastTotal) {
      lastTotal = total;
      stillSince = performance.now();
    } else if (performance.now() - stillSince > 2_000) break;
    await new Promise((r) => setTimeout(r, 20));
    stats = await collect(cluster);
  }
  const cpu1 = await serverCpu(cluster);
  const hist = createHistogram();
  const errors: Record<string, number> = {};
  const errorsSinceOpen: Record<string, number> = {};
  for (const s of stats) {
    mergeInto(hist, s.hist);
    for (const [code, n] of Object.entries(s.errors)) {
      errors[code] = (errors[code] ?? 0) + n;
      errorsSinceOpen[code] = (errorsSinceOpen[code] ?? 0) + n;
    }
  }
  for (const s of before) {
    for (const [code, n] of Object.entries(s.errors)) errors[code] = (errors[code] ?? 0) - n;
  }
  for (const code of Object.keys(errors)) if (errors[code] === 0) delete errors[code];
  const received = stats.reduce((n, s) => n + s.received, 0);
  const lastReceive = Math.max(...stats.map((s) => s.lastReceiveAtMs));
  return {
    sent,
    expected: spec.expected,
    received,
    duplicates: stats.reduce((n, s) => n + s.duplicates, 0),
    lost: Math.max(0, spec.expected - received),
    hist,
    serverCpuMicros: cpu1.cpuMicros - cpu0.cpuMicros,
    clientCpuMicros: stats.reduce((n, s, i) => n + s.cpuMicros - (before[i]?.cpuMicros ?? 0), 0),
    spanMs: lastReceive > 0 ? lastReceive - startWall : Number.NaN,
    errors,
    errorsSinceOpen,
  };
}

export async function closeConnections(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.workers.map((w) => w.request('close')));
}
