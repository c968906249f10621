/**
 * Scenario 4, memory per idle connection: the server's RSS and V8 heap (after forced garbage
 * collections, `--expose-gc`) before and after `connections` idle connections are open; the
 * difference divided by the count. Ours are logged in (a live session each, heartbeats
 * flowing) but in no channel; Socket.IO's are connected to the main namespace; bare ws's are
 * open sockets. File descriptors: the server holds one per connection and each load process
 * its share; nothing system-wide is raised, and when `ulimit -n` is too low for the full size
 * the scenario says so and measures the largest count that fits.
 */
import { execSync } from 'node:child_process';
import { closeConnections, clusterLauncher, openConnections, serverMemory, startCluster, stopCluster, tokensFor } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { diffHeaps } from '../lib/heap.js';
import { check, runIfMain, selectedSystems, type ScenarioReport } from '../lib/scenario.js';

export interface MemoryResult {
  connections: number;
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  /** With --profile (ours only): the largest heap groups, per connection. */
  heapByGroup?: Array<{ name: string; perConnection: number; bytesPerConnection: number }>;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
}

/** The soft limit on open files this process (and so its children) may use. */
export function openFileLimit(): number {
  try {
    const out = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return Number.NaN;
  }
}

export async function runMemory(ctx: BenchContext): Promise<ScenarioReport<MemoryResult>> {
  const started = performance.now();
  const wanted = ctx.quick ? 300 : 5000;
  const loadProcesses = 2;
  const limit = openFileLimit();
  // The server needs one descriptor per connection plus a few hundred for itself and Node.
  const fits = Number.isFinite(limit) ? Math.min(wanted, Math.max(0, limit - 300)) : wanted;
  const params = { wantedConnections: wanted, connections: fits, ulimitN: String(limit), loadProcesses };
  const report: ScenarioReport<MemoryResult> = { name: 'memory', title: 'Memory per idle connection', params, systems: {}, checks: [], durationMs: 0 };
  if (fits < wanted) ctx.log(`memory: ulimit -n is ${limit}; measuring ${fits} connections instead of ${wanted}`);

  const systems = selectedSystems();
  const launch = clusterLauncher(systems, ctx, (system) => startCluster(system, loadProcesses, ctx, { exposeGc: true }));
  for (const system of systems) {
    ctx.log(`memory: ${system}: starting server and ${loadProcesses} load processes`);
    const cluster = await launch(system);
    try {
      const uids = Array.from({ length: fits }, (_, i) => `idle${i}`);
      const tokens = await tokensFor(cluster, uids);
      const before = await serverMemory(cluster);
      await openConnections(cluster, uids.map((uid, i) => ({ uid, token: tokens[i] })), (i) => i % loadProcesses, 200);
      // Let a few heartbeats pass so per-connection state is in its steady shape.
      await new Promise((r) => setTimeout(r, ctx.quick ? 300 : 2000));
      const after = await serverMemory(cluster);
      ctx.log(`memory: ${system}: ${after.connections} connections open on the server`);
      const n = Math.max(1, after.connections);
      report.systems[system] = {
        connections: after.connections,
        rssBytesPerConnection: Math.round((after.rss - before.rss) / n),
        heapBytesPerConnection: Math.round((after.heapUsed - before.heapUsed) / n),
        rssBefore: before.rss,
        rssAfter: after.rss,
        heapBefore: before.heapUsed,
        heapAfter: after.heapUsed,
      };
      report.checks.push(check('memory', after.connections === fits, `${system}: ${after.connections}/${fits} connections open on the server`));
      await closeConnections(cluster);
    } finally {
      await stopCluster(cluster);
    }
  }
  const ours = report.systems.rtm;
  if (ctx.profileDir && ours) {
    // What a connection is made of, from heap snapshots before and after. A separate pass on a
    // fresh server: writing a snapshot grows RSS, which would skew the measurement above.
    ctx.log('memory: rtm: heap snapshots before and after (a separate pass)');
    const cluster = await startCluster('rtm', loadProcesses, ctx, { exposeGc: true });
    try {
      const uids = Array.from({ length: fits }, (_, i) => `idle${i}`);
      const tokens = await tokensFor(cluster, uids);
      const beforeFile = await cluster.server.request<string>('heapSnapshot', { file: `${ctx.profileDir}/memory-server-before.heapsnapshot` }, 120_000);
      await openConnections(cluster, uids.map((uid, i) => ({ uid, token: tokens[i] })), (i) => i % loadProcesses, 200);
      await new Promise((r) => setTimeout(r, ctx.quick ? 300 : 2000));
      const afterFile = await cluster.server.request<string>('heapSnapshot', { file: `${ctx.profileDir}/memory-server-after.heapsnapshot` }, 120_000);
      ours.heapByGroup = diffHeaps(beforeFile, afterFile, 20).map((g) => ({
        name: g.name,
        perConnection: Math.round((g.count / fits) * 10) / 10,
        bytesPerConnection: Math.round(g.bytes / fits),
      }));
      await closeConnections(cluster);
    } finally {
      await stopCluster(cluster);
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runMemory);
