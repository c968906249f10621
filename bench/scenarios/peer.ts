/**
 * Scenario 2, peer messaging: `pairs` pairs of users, each user sending 100-byte messages to
 * its partner (the partner sits in the other load process, so every message crosses).
 * - steady phase: every user sends at a fixed rate; gives p50/p99 latency and server CPU per
 *   message under a load every system sustains;
 * - burst phase: every user sends its batch at once; messages/s is the number delivered
 *   divided by the time from the first send to the last delivery.
 * Our load clients acknowledge peer messages (peer.ack, cumulative, every 100 ms) as a real
 * client does, so the server's inbox stays small.
 */
import { closeConnections, clusterLauncher, openConnections, runPhase, startCluster, startProfile, stopProfile, stopCluster, tokensFor } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { runIfMain, selectedSystems, type ScenarioReport } from '../lib/scenario.js';
import type { SenderPlan } from '../load/worker.js';
import { deliveryChecks, summarize, type PhaseSummary } from './fanout.js';

export interface PeerResult {
  steady: PhaseSummary;
  burst: PhaseSummary;
}

export async function runPeer(ctx: BenchContext): Promise<ScenarioReport<PeerResult>> {
  const started = performance.now();
  const params = ctx.quick
    ? { pairs: 50, steadyRatePerUser: 10, steadyPerUser: 10, burstPerUser: 20, loadProcesses: 2 }
    : { pairs: 500, steadyRatePerUser: 10, steadyPerUser: 100, burstPerUser: 50, loadProcesses: 2 };
  const report: ScenarioReport<PeerResult> = { name: 'peer', title: 'Peer messaging', params, systems: {}, checks: [], durationMs: 0 };
  const users = params.pairs * 2;

  const systems = selectedSystems();
  const launch = clusterLauncher(systems, ctx, (system) => startCluster(system, params.loadProcesses, ctx));
  for (const system of systems) {
    ctx.log(`peer: ${system}: starting server and ${params.loadProcesses} load processes`);
    const cluster = await launch(system);
    try {
      const uids = Array.from({ length: users }, (_, i) => `peer${i}`);
      const tokens = await tokensFor(cluster, uids);
      // User 2k talks to 2k+1; even users live in load process 0, odd ones in process 1.
      const local = await openConnections(cluster, uids.map((uid, i) => ({ uid, token: tokens[i] })), (i) => i % params.loadProcesses);
      ctx.log(`peer: ${system}: ${users} users connected`);
      const plans = (perUser: number): SenderPlan[][] =>
        local.map((globals) => globals.map((g, localIndex) => ({ connection: localIndex, to: uids[g ^ 1]!, keyBase: 0, count: perUser })));

      // Warm-up at the steady rate for about a second (JIT, socket buffers); not measured.
      const warmPerUser = Math.max(1, Math.round(params.steadyRatePerUser * (ctx.quick ? 0.3 : 1.5)));
      await runPhase(cluster, {
        senders: plans(warmPerUser),
        keySpace: warmPerUser,
        ratePerSender: params.steadyRatePerUser,
        expected: users * warmPerUser,
        sendBoundMs: 10_000,
        drainBoundMs: 10_000,
      });
      await startProfile(ctx, cluster.server, system);
      const steady = await runPhase(cluster, {
        senders: plans(params.steadyPerUser),
        keySpace: params.steadyPerUser,
        ratePerSender: params.steadyRatePerUser,
        expected: users * params.steadyPerUser,
        sendBoundMs: 60_000,
        drainBoundMs: 30_000,
      });
      ctx.log(`peer: ${system}: steady phase ${steady.received}/${steady.expected} delivered`);
      const burst = await runPhase(cluster, {
        senders: plans(params.burstPerUser),
        keySpace: params.burstPerUser,
        ratePerSender: 0,
        expected: users * params.burstPerUser,
        sendBoundMs: 10_000,
        drainBoundMs: 60_000,
      });
      ctx.log(`peer: ${system}: burst phase ${burst.received}/${burst.expected} delivered`);
      await stopProfile(ctx, cluster.server, system, 'peer-server');
      const result = { steady: summarize(steady), burst: summarize(burst) };
      report.systems[system] = result;
      report.checks.push(...deliveryChecks('peer', system, result));
      await closeConnections(cluster);
    } finally {
      await stopCluster(cluster);
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runPeer);
