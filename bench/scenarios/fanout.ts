/**
 * Scenario 1, channel fan-out: one channel, `members` connections, `senders` of them sending
 * 100-byte messages that every other member receives.
 * - steady phase: each sender sends at a fixed rate; gives server CPU µs per delivered message
 *   and the latency percentiles under a load every system sustains;
 * - burst phase: each sender sends its whole batch at once; deliveries/s is the number
 *   delivered divided by the time from the first send to the last delivery.
 * Server CPU comes from process.cpuUsage() inside the server process.
 */
import {
  closeConnections,
  clusterLauncher,
  openConnections,
  runPhase,
  startCluster,
  startProfile,
  stopProfile,
  stopCluster,
  tokensFor,
  type Cluster,
  type PhaseResult,
} from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { percentileMs } from '../lib/histogram.js';
import { check, round, runIfMain, selectedSystems, type ScenarioReport } from '../lib/scenario.js';
import type { SenderPlan } from '../load/worker.js';

const CHANNEL = 'bench-fanout';

export interface PhaseSummary {
  messages: number;
  deliveries: number;
  expected: number;
  lost: number;
  duplicates: number;
  serverCpuMicrosPerDelivery: number;
  clientCpuMicrosPerDelivery: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: Record<string, number>;
  errorsSinceOpen: Record<string, number>;
}

/** One check a phase: everything expected was delivered, none lost, none twice. */
export function deliveryChecks(scenario: string, system: string, phases: Record<string, PhaseSummary>) {
  return Object.entries(phases).map(([name, phase]) =>
    check(
      scenario,
      phase.lost === 0 && phase.duplicates === 0 && phase.deliveries === phase.expected,
      `${system} ${name}: ${phase.deliveries}/${phase.expected} delivered, ${phase.duplicates} duplicated`,
    ),
  );
}

export function summarize(phase: PhaseResult): PhaseSummary {
  return {
    messages: phase.sent,
    deliveries: phase.received,
    expected: phase.expected,
    lost: phase.lost,
    duplicates: phase.duplicates,
    serverCpuMicrosPerDelivery: round(phase.serverCpuMicros / Math.max(1, phase.received), 3),
    clientCpuMicrosPerDelivery: round(phase.clientCpuMicros / Math.max(1, phase.received), 3),
    deliveriesPerSec: Math.round((phase.received / phase.spanMs) * 1000),
    p50Ms: round(percentileMs(phase.hist, 0.5), 3),
    p99Ms: round(percentileMs(phase.hist, 0.99), 3),
    errors: phase.errors,
    errorsSinceOpen: phase.errorsSinceOpen,
  };
}

export interface FanoutResult {
  steady: PhaseSummary;
  burst: PhaseSummary;
}

/** Senders are the first `senders` members; each worker drives the ones it holds (`local`: per worker, its members' global indexes). */
export function senderPlans(local: number[][], senders: number, perSender: number): SenderPlan[][] {
  return local.map((globals) =>
    globals.flatMap((g, localIndex) => (g < senders ? [{ connection: localIndex, keyBase: g * perSender, count: perSender }] : [])),
  );
}

/** Warm-up at the steady rate for about a second (JIT, socket buffers); not measured. */
export async function warmUp(
  cluster: Cluster,
  local: number[][],
  load: { senders: number; ratePerSender: number; recipients: number },
  quick: boolean,
): Promise<void> {
  const perSender = Math.max(1, Math.round(load.ratePerSender * (quick ? 0.3 : 1.5)));
  await runPhase(cluster, {
    senders: senderPlans(local, load.senders, perSender),
    keySpace: load.senders * perSender,
    ratePerSender: load.ratePerSender,
    expected: load.senders * perSender * load.recipients,
    sendBoundMs: 10_000,
    drainBoundMs: 10_000,
  });
}

export async function runFanout(ctx: BenchContext): Promise<ScenarioReport<FanoutResult>> {
  const started = performance.now();
  const params = ctx.quick
    ? { members: 100, senders: 4, steadyRatePerSender: 10, steadyPerSender: 10, burstPerSender: 20, loadProcesses: 2 }
    : { members: 1000, senders: 10, steadyRatePerSender: 5, steadyPerSender: 40, burstPerSender: 50, loadProcesses: 2 };
  const report: ScenarioReport<FanoutResult> = { name: 'fanout', title: 'Channel fan-out', params, systems: {}, checks: [], durationMs: 0 };

  const systems = selectedSystems();
  const launch = clusterLauncher(systems, ctx, (system) => startCluster(system, params.loadProcesses, ctx));
  for (const system of systems) {
    ctx.log(`fan-out: ${system}: starting server and ${params.loadProcesses} load processes`);
    const cluster = await launch(system);
    try {
      const uids = Array.from({ length: params.members }, (_, i) => `fan${i}`);
      const tokens = await tokensFor(cluster, uids);
      const specs = uids.map((uid, i) => ({ uid, token: tokens[i], channel: CHANNEL }));
      const assign = (i: number) => i % params.loadProcesses;
      const local = await openConnections(cluster, specs, assign);
      ctx.log(`fan-out: ${system}: ${params.members} members joined`);

      const plans = (perSender: number) => senderPlans(local, params.senders, perSender);
      const recipients = params.members - 1;
      await warmUp(cluster, local, { senders: params.senders, ratePerSender: params.steadyRatePerSender, recipients }, ctx.quick);
      await startProfile(ctx, cluster.server, system);
      const steady = await runPhase(cluster, {
        senders: plans(params.steadyPerSender),
        keySpace: params.senders * params.steadyPerSender,
        ratePerSender: params.steadyRatePerSender,
        expected: params.senders * params.steadyPerSender * recipients,
        sendBoundMs: 60_000,
        drainBoundMs: 30_000,
      });
      ctx.log(`fan-out: ${system}: steady phase ${steady.received}/${steady.expected} delivered`);
      const burst = await runPhase(cluster, {
        senders: plans(params.burstPerSender),
        keySpace: params.senders * params.burstPerSender,
        ratePerSender: 0,
        expected: params.senders * params.burstPerSender * recipients,
        sendBoundMs: 10_000,
        drainBoundMs: 60_000,
      });
      ctx.log(`fan-out: ${system}: burst phase ${burst.received}/${burst.expected} delivered`);
      await stopProfile(ctx, cluster.server, system, 'fanout-server');
      const result = { steady: summarize(steady), burst: summarize(burst) };
      report.systems[system] = result;
      report.checks.push(...deliveryChecks('fanout', system, result));
      await closeConnections(cluster);
    } finally {
      await stopCluster(cluster);
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runFanout);
