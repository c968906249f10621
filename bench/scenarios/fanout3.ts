/**
 * Scenario 6, fan-out over three nodes (issue 13): the steady phase of the channel fan-out
 * (scenario 1), once on a single server as an application runs it by default (ours: the
 * in-memory store; Socket.IO: its in-memory adapter) and once on three server processes sharing
 * one private Redis (ours: `createRtmServer({ redis })`; Socket.IO: the Redis streams adapter),
 * with the members spread round-robin over the nodes and the senders among them. Server CPU is
 * summed over the nodes; the target is ours on three nodes ≤ 1.5 × ours on one, per delivery.
 */
import {
  closeConnections,
  nodeCpus,
  openConnections,
  runPhase,
  startCluster,
  startNodeCluster,
  stopCluster,
  tokensFor,
  type Cluster,
} from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { redisServerAvailable, startRedis } from '../lib/redis.js';
import { check, round, runIfMain, selectedSystems, type ScenarioReport } from '../lib/scenario.js';
import { deliveryChecks, senderPlans, summarize, warmUp, type PhaseSummary } from './fanout.js';

const CHANNEL = 'bench-fanout3';
/** `--fanout3-nodes N` (default 3): how many nodes share the Redis, to see how the cost grows with them. */
const NODES = (() => {
  const i = process.argv.indexOf('--fanout3-nodes');
  const n = i < 0 ? 3 : Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new RangeError('--fanout3-nodes must be 1–8');
  return n;
})();

export interface Fanout3Result {
  /** One server, the system's default (no Redis). */
  single: PhaseSummary;
  /** Three nodes on one Redis; server CPU summed over them. */
  nodes: PhaseSummary;
  /** nodes ÷ single, server CPU per delivery. */
  cpuRatio: number;
  /** Each node's share of the three-node phase's server CPU, ms. */
  nodeCpuMs: number[];
}

interface Params {
  members: number;
  senders: number;
  ratePerSender: number;
  perSender: number;
  loadProcesses: number;
}

/** Joins the members (spread over the cluster's nodes), warms up, then measures the steady phase. */
async function steadyPhase(cluster: Cluster, params: Params, ctx: BenchContext): Promise<{ phase: PhaseSummary; nodeCpuMs: number[] }> {
  const uids = Array.from({ length: params.members }, (_, i) => `fan3-${i}`);
  const tokens = await tokensFor(cluster, uids);
  const specs = uids.map((uid, i) => ({ uid, token: tokens[i], channel: CHANNEL, url: cluster.urls[i % cluster.urls.length]! }));
  const local = await openConnections(cluster, specs, (i) => i % params.loadProcesses);
  const recipients = params.members - 1;
  await warmUp(cluster, local, { senders: params.senders, ratePerSender: params.ratePerSender, recipients }, ctx.quick);
  const cpu0 = await nodeCpus(cluster);
  const steady = await runPhase(cluster, {
    senders: senderPlans(local, params.senders, params.perSender),
    keySpace: params.senders * params.perSender,
    ratePerSender: params.ratePerSender,
    expected: params.senders * params.perSender * recipients,
    sendBoundMs: 60_000,
    drainBoundMs: 30_000,
  });
  const cpu1 = await nodeCpus(cluster);
  await closeConnections(cluster);
  return { phase: summarize(steady), nodeCpuMs: cpu1.map((c, i) => Math.round((c - cpu0[i]!) / 1000)) };
}

export async function runFanout3(ctx: BenchContext): Promise<ScenarioReport<Fanout3Result>> {
  const started = performance.now();
  const params: Params = ctx.quick
    ? { members: 90, senders: 3, ratePerSender: 10, perSender: 6, loadProcesses: 2 }
    : { members: 1000, senders: 10, ratePerSender: 5, perSender: 40, loadProcesses: 2 };
  const report: ScenarioReport<Fanout3Result> = {
    name: 'fanout3',
    title: `Channel fan-out over ${NODES} nodes on Redis`,
    params: { ...params, nodes: NODES },
    systems: {},
    checks: [],
    durationMs: 0,
  };
  if (!redisServerAvailable()) {
    report.checks.push(check('fanout3', false, 'redis-server is not installed (apt-get install redis-server)'));
    return report;
  }
  for (const system of selectedSystems().filter((s) => s !== 'ws')) {
    ctx.log(`fanout3: ${system}: one server`);
    const single = await startCluster(system, params.loadProcesses, ctx);
    let one: { phase: PhaseSummary };
    try {
      one = await steadyPhase(single, params, ctx);
    } finally {
      await stopCluster(single);
    }
    ctx.log(`fanout3: ${system}: ${NODES} nodes on a private Redis`);
    const redis = await startRedis();
    try {
      const cluster = await startNodeCluster(system, NODES, params.loadProcesses, redis.url);
      try {
        const three = await steadyPhase(cluster, params, ctx);
        const result: Fanout3Result = {
          single: one.phase,
          nodes: three.phase,
          cpuRatio: round(three.phase.serverCpuMicrosPerDelivery / one.phase.serverCpuMicrosPerDelivery, 2),
          nodeCpuMs: three.nodeCpuMs,
        };
        report.systems[system] = result;
        report.checks.push(...deliveryChecks('fanout3', system, { 'one node': one.phase, [`${NODES} nodes`]: three.phase }));
        ctx.log(
          `fanout3: ${system}: ${result.single.serverCpuMicrosPerDelivery} µs/delivery on one server, ${result.nodes.serverCpuMicrosPerDelivery} on ${NODES} nodes (× ${result.cpuRatio}); ${three.phase.deliveries}/${three.phase.expected} delivered`,
        );
      } finally {
        await stopCluster(cluster);
      }
    } finally {
      await redis.stop();
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runFanout3);
