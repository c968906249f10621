/**
 * Scenario 3, reconnect storm: `clients` real clients (RtmClient / socket.io-client) in one
 * channel, connected through the fault proxy (src/testing) running in its own process, while a
 * sender connected directly to the server keeps sending 5 channel messages/s. At once every
 * connection through the proxy is cut and new ones are refused for `outageMs`; then the proxy
 * is restored. Measured: the time from the restore until every client is connected again and
 * holds every message sent before the restore (p50, p99, max), and at the end how many
 * messages each client never received (lost) or received twice (duplicated).
 * Bare ws has no reconnection and no replay. The one-process variant runs it anyway, as the
 * floor: sockets that only re-dial (as ours do inside the grace period) and do nothing else,
 * "back" once open again. It loses every message of the outage by design; what it shows is how
 * long the dials alone keep one process busy.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startChild, type ChildHandle } from '../lib/processes.js';
import type { BenchContext } from '../lib/context.js';
import { clusterLauncher, serverCpu, startCluster, startProfile, stopProfile, stopCluster, tokensFor, type Cluster } from '../lib/cluster.js';
import { formatBuildFigures } from '../lib/report.js';
import { check, runIfMain, selectedSystems, type ScenarioReport } from '../lib/scenario.js';
import type { StormOpenRequest, StormStats } from '../load/storm-worker.js';
import type { OpenRequest, SendRequest } from '../load/worker.js';

const CHANNEL = 'bench-storm';

export interface StormResult {
  clients: number;
  cut: number;
  messagesSent: number;
  /** Messages sent before the restore: what every client must hold. */
  sentBeforeRestore: number;
  /** Measured in the proxy, from the cut to the restore. */
  outageMs: number;
  caughtUp: number;
  connected: number;
  catchUpP50Ms: number;
  catchUpP99Ms: number;
  catchUpMaxMs: number;
  /** Link up again after the restore (before the replay has arrived): p50 and max, ms. */
  linkUpP50Ms: number;
  linkUpMaxMs: number;
  linkUpPer100Ms: number[];
  /** Ours: the dial that worked started, and its socket opened, after the restore: p50 / max ms. */
  dialP50Ms: number;
  dialMaxMs: number;
  openP50Ms: number;
  openMaxMs: number;
  /** Ours: on that socket, the resume left and its answer arrived, after the restore: p50 ms. */
  helloP50Ms: number;
  answerP50Ms: number;
  /** Ours: WebSocket dials per client from the cut to the end, failed ones included. */
  dialsPerClient: number;
  /** Clients caught up in each 100 ms after the restore: [0–100), [100–200), … */
  catchUpPer100Ms: number[];
  /** Messages never received that no `Recovered` event reported lost: silently lost. */
  lost: number;
  /** Messages never received that a `Recovered` event reported lost (R11.1; ours only). */
  reportedLost: number;
  clientsReportedLoss: number;
  /** Ours: `Recovered` events after the outage, clients that had one, and why replays were cut short. */
  recoveries: number;
  clientsRecovered: number;
  lossReasons: Record<string, number>;
  duplicates: number;
  replayed: number;
  serverCpuMs: number;
  /** Time to connect, log in and join all clients before the storm, ms. */
  setupMs: number;
  loginRetries: number;
  /** CPU of the client processes and of the proxy over the same span, ms. */
  clientCpuMs: number;
  /** CPU of the client processes from the cut to the restore, ms. */
  clientOutageCpuMs: number;
  /** Ours: clients that had not reported a recovery (not back yet) when the run ended. */
  unrecovered: number;
  proxyCpuMs: number;
  /** Heap in use in each client process at the end, MiB. */
  clientHeapMiB: number[];
  events: Record<string, number>;
  /** Ours with `--baseline-client DIR`: the same storm, alternately with that build's client and this one's. */
  baseline?: BaselineComparison;
}

/** The figures of a run that a comparison of builds gives as medians over its rounds. */
const MEDIAN_FIGURES = [
  'catchUpP50Ms',
  'catchUpMaxMs',
  'dialsPerClient',
  'dialP50Ms',
  'openP50Ms',
  'helloP50Ms',
  'answerP50Ms',
  'clientCpuMs',
  'serverCpuMs',
  'proxyCpuMs',
  'clientOutageCpuMs',
] as const;

/**
 * One build's figures: each of MEDIAN_FIGURES as the median of its runs' (the dial, open, resume
 * and answer times are the harness's WebSocket's, whatever the build), and `reconnecting`, the
 * clients that went RECONNECTING after the restore, summed over the rounds.
 */
export type BuildFigures = Pick<StormResult, (typeof MEDIAN_FIGURES)[number]> & { reconnecting: number };

export interface BaselineComparison {
  /** The baseline checkout, as given. */
  client: string;
  rounds: number;
  baseline: BuildFigures;
  current: BuildFigures;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)]!;
}

/** The median and the largest of sorted times, rounded (NaN when there are none). */
export const p50Of = (sorted: number[]): number => Math.round(quantile(sorted, 0.5));
export const maxOf = (sorted: number[]): number => Math.round(sorted[sorted.length - 1] ?? Number.NaN);

function mergeCounts(counts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) merged[k] = (merged[k] ?? 0) + n;
  return merged;
}

/** How many of `ms` fall in each 100 ms bin: [0–100), [100–200), … */
function per100Ms(ms: readonly number[]): number[] {
  const bins: number[] = [];
  for (const value of ms) {
    const bin = Math.floor(value / 100);
    while (bins.length <= bin) bins.push(0);
    bins[bin]!++;
  }
  return bins;
}

async function stormOnce(
  cluster: Cluster,
  ctx: BenchContext,
  params: { clients: number; ratePerSec: number; beforeMs: number; outageMs: number; afterMs: number; stormProcesses: number },
  clientModule?: string,
): Promise<StormResult> {
  const system = cluster.system;
  const helpers: ChildHandle[] = [];
  try {
    const [proxy, ...stormWorkers] = await Promise.all([
      startChild(`${system} fault proxy`, 'servers/proxy.ts', ['--target', cluster.url]),
      ...Array.from({ length: params.stormProcesses }, (_, i) => startChild(`${system} storm ${i}`, 'load/storm-worker.ts', [])),
    ]);
    helpers.push(proxy!, ...stormWorkers);
    const sender = cluster.workers[0]!;

    const totalMessages = Math.ceil((params.ratePerSec * (params.beforeMs + params.outageMs + params.afterMs)) / 1000);
    const keySpace = totalMessages + 1;
    const [senderToken] = await tokensFor(cluster, ['storm-sender']);
    const opened = await sender.request<{ failed: number; firstError?: string }>('open', {
      system,
      url: cluster.url,
      connections: [{ uid: 'storm-sender', token: senderToken, channel: CHANNEL }],
      concurrency: 1,
    } satisfies OpenRequest);
    if (opened.failed) throw new Error(`storm sender failed to connect: ${opened.firstError}`);

    const setupStarted = performance.now();
    const uids = Array.from({ length: params.clients }, (_, i) => `storm${i}`);
    const tokens = await tokensFor(cluster, uids);
    const proxyUrl = String(system === 'socketio' ? proxy!.ready['httpUrl'] : proxy!.ready['url']);
    const results = await Promise.all(
      stormWorkers.map((worker, w) =>
        worker.request<{ failed: number; firstError?: string }>(
          'open',
          {
            system,
            url: proxyUrl,
            channel: CHANNEL,
            clients: uids.flatMap((uid, i) => (i % stormWorkers.length === w ? [{ uid, token: tokens[i] }] : [])),
            keySpace,
            concurrency: 25,
            ...(clientModule ? { clientModule } : {}),
          } satisfies StormOpenRequest,
          180_000,
        ),
      ),
    );
    const failed = results.reduce((n, r) => n + r.failed, 0);
    if (failed) throw new Error(`${failed} storm clients failed to connect: ${results.find((r) => r.firstError)?.firstError}`);
    const setupMs = Math.round(performance.now() - setupStarted);
    ctx.log(`storm: ${system}: ${params.clients} clients connected through the fault proxy and joined in ${setupMs} ms`);

    await sender.request('arm', { keySpace });
    const cpu0 = await serverCpu(cluster);
    const clientCpu0 = await Promise.all(stormWorkers.map((w) => w.request<StormStats>('stats', { sentTotal: 0 })));
    const proxyCpu0 = await proxy!.request<number>('cpu');
    await startProfile(ctx, cluster.server, system);
    await startProfile(ctx, stormWorkers[0]!, system);
    await startProfile(ctx, proxy!, system);
    const sending = sender.request<{ sent: number }>(
      'send',
      { senders: [{ connection: 0, keyBase: 0, count: totalMessages }], ratePerSender: params.ratePerSec, boundMs: 60_000 } satisfies SendRequest,
      90_000,
    );
    await sleep(params.beforeMs);
    await Promise.all(stormWorkers.map((w) => w.request('outage')));
    const outage = await proxy!.request<{ cut: number; atMs: number }>('outage', { durationMs: params.outageMs });
    ctx.log(`storm: ${system}: cut ${outage.cut} connections; outage ${params.outageMs} ms`);
    const restore = await proxy!.request<{ atMs: number }>('restored');
    const sentBeforeRestore = await sender.request<number>('progress');
    await Promise.all(stormWorkers.map((w) => w.request('target', { count: sentBeforeRestore, atMs: restore.atMs })));
    ctx.log(`storm: ${system}: restored after ${Math.round(restore.atMs - outage.atMs)} ms; ${sentBeforeRestore} messages sent so far`);

    const { sent } = await sending;
    // Bounded wait for the stragglers after the last send.
    const deadline = performance.now() + 5_000;
    let stats: StormStats[];
    for (;;) {
      stats = await Promise.all(stormWorkers.map((w) => w.request<StormStats>('stats', { sentTotal: sent })));
      const caughtUp = stats.reduce((n, s) => n + s.caughtUp, 0);
      const lost = stats.reduce((n, s) => n + s.lost, 0);
      if ((caughtUp === params.clients && lost === 0) || performance.now() > deadline) break;
      await sleep(100);
    }
    const cpu1 = await serverCpu(cluster);
    const proxyCpu1 = await proxy!.request<number>('cpu');
    // One file per variant and client build (the last run of each, with --baseline-client).
    const profileName = `storm${params.stormProcesses === 1 ? '1' : ''}${clientModule ? '-baseline' : ''}`;
    await stopProfile(ctx, cluster.server, system, `${profileName}-server`);
    await stopProfile(ctx, stormWorkers[0]!, system, `${profileName}-client`);
    await stopProfile(ctx, proxy!, system, `${profileName}-proxy`);
    const merged = (times: (s: StormStats) => number[]) => stats.flatMap(times).sort((a, b) => a - b);
    const catchUp = merged((s) => s.catchUpMs);
    const linkUp = merged((s) => s.linkUpMs);
    const dial = merged((s) => s.dialMs);
    const open = merged((s) => s.openMs);
    const hello = merged((s) => s.helloMs);
    const answer = merged((s) => s.answerMs);
    const events = mergeCounts(stats.map((s) => s.stateChanges));
    return {
      clients: params.clients,
      cut: outage.cut,
      messagesSent: sent,
      sentBeforeRestore,
      outageMs: Math.round(restore.atMs - outage.atMs),
      caughtUp: catchUp.length,
      connected: stats.reduce((n, s) => n + s.connected, 0),
      catchUpP50Ms: p50Of(catchUp),
      catchUpP99Ms: Math.round(quantile(catchUp, 0.99)),
      catchUpMaxMs: maxOf(catchUp),
      linkUpP50Ms: p50Of(linkUp),
      linkUpMaxMs: maxOf(linkUp),
      catchUpPer100Ms: per100Ms(catchUp),
      linkUpPer100Ms: per100Ms(linkUp),
      dialP50Ms: p50Of(dial),
      dialMaxMs: maxOf(dial),
      openP50Ms: p50Of(open),
      openMaxMs: maxOf(open),
      helloP50Ms: p50Of(hello),
      answerP50Ms: p50Of(answer),
      dialsPerClient: Math.round((stats.reduce((n, s) => n + s.dialsSinceOutage, 0) / params.clients) * 10) / 10,
      lost: stats.reduce((n, s) => n + s.lost, 0),
      reportedLost: stats.reduce((n, s) => n + s.reportedLost, 0),
      clientsReportedLoss: stats.reduce((n, s) => n + s.clientsReportedLoss, 0),
      recoveries: stats.reduce((n, s) => n + s.recoveries, 0),
      clientsRecovered: stats.reduce((n, s) => n + s.clientsRecovered, 0),
      lossReasons: mergeCounts(stats.map((s) => s.lossReasons)),
      duplicates: stats.reduce((n, s) => n + s.duplicates, 0),
      replayed: stats.reduce((n, s) => n + s.historical, 0),
      serverCpuMs: Math.round((cpu1.cpuMicros - cpu0.cpuMicros) / 1000),
      setupMs,
      loginRetries: stats.reduce((n, s) => n + (s.loginRetries ?? 0), 0),
      clientCpuMs: Math.round(stats.reduce((n, s, i) => n + s.cpuMicros - (clientCpu0[i]?.cpuMicros ?? 0), 0) / 1000),
      proxyCpuMs: Math.round((proxyCpu1 - proxyCpu0) / 1000),
      clientOutageCpuMs: Math.round(stats.reduce((n, s) => n + s.outageCpuMicros, 0) / 1000),
      unrecovered: stats.reduce((n, s) => n + s.unrecovered, 0),
      clientHeapMiB: stats.map((s) => Math.round(s.heapUsedBytes / 2 ** 20)),
      events,
    };
  } finally {
    await Promise.all(helpers.map((h) => h.stop()));
  }
}

export interface StormParams {
  clients: number;
  ratePerSec: number;
  beforeMs: number;
  outageMs: number;
  afterMs: number;
  stormProcesses: number;
}

async function runStormVariant(
  ctx: BenchContext,
  name: string,
  title: string,
  params: StormParams,
  options: { bareWsFloor: boolean },
): Promise<ScenarioReport<StormResult>> {
  const started = performance.now();
  const report: ScenarioReport<StormResult> = { name, title, params: { ...params }, systems: {}, checks: [], durationMs: 0 };
  const systems = selectedSystems().filter((s) => s !== 'ws' || options.bareWsFloor);
  const launch = clusterLauncher(systems, ctx, (system) => startCluster(system, 1, ctx));
  for (const system of systems) {
    ctx.log(`${name}: ${system}: starting server, fault proxy and ${params.stormProcesses} client process(es)`);
    const cluster = await launch(system);
    try {
      const result = await stormOnce(cluster, ctx, params);
      const baseline = system === 'rtm' ? baselineClient() : undefined;
      if (baseline) result.baseline = await compareWithBaseline(ctx, params, baseline, result, name);
      report.systems[system] = result;
      ctx.log(
        `${name}: ${system}: ${result.caughtUp}/${result.clients} caught up, max ${result.catchUpMaxMs} ms after the restore; lost ${result.lost} (and ${result.reportedLost} reported lost to ${result.clientsReportedLoss} clients), duplicated ${result.duplicates}`,
      );
      report.checks.push(check(name, result.cut > 0 && result.messagesSent > 0, `${system}: ${result.cut} connections cut, ${result.messagesSent} messages sent`));
      if (system === 'rtm') {
        report.checks.push(
          check(name, result.caughtUp === result.clients && result.lost === 0 && result.duplicates === 0,
            `rtm: ${result.caughtUp}/${result.clients} caught up, ${result.lost} lost silently (${result.reportedLost} reported), ${result.duplicates} duplicated`),
          // R11.1: every client that was cut is told what its reconnect recovered.
          check(name, result.clientsRecovered === result.clients, `rtm: ${result.clientsRecovered}/${result.clients} clients reported what they recovered`),
        );
      }
    } finally {
      await stopCluster(cluster);
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/**
 * `--baseline-client DIR [--baseline-rounds N]`: the client of another checkout (built, e.g. a
 * `git worktree` of an older commit) against this checkout's server, harness and proxy, so that
 * a change to the client is measured before and after in one run. The rounds alternate (baseline,
 * this build) so that drift in the machine's load falls on both; the figures are medians.
 */
function baselineClient(): { dir: string; module: string; rounds: number } | undefined {
  const i = process.argv.indexOf('--baseline-client');
  if (i < 0) return undefined;
  const dir = resolve(process.argv[i + 1] ?? '.');
  const r = process.argv.indexOf('--baseline-rounds');
  const rounds = r < 0 ? 3 : Math.max(1, Number(process.argv[r + 1]) || 3);
  return { dir, module: pathToFileURL(`${dir}/dist/src/index.js`).href, rounds };
}

async function compareWithBaseline(
  ctx: BenchContext,
  params: StormParams,
  baseline: { dir: string; module: string; rounds: number },
  first: StormResult,
  name: string,
): Promise<BaselineComparison> {
  // Each run on a server of its own, as the first was: no run meets another's sessions or history.
  const onFreshServer = async (clientModule?: string): Promise<StormResult> => {
    const cluster = await startCluster('rtm', 1, ctx);
    try {
      return await stormOnce(cluster, ctx, params, clientModule);
    } finally {
      await stopCluster(cluster);
    }
  };
  const runs: { baseline: StormResult[]; current: StormResult[] } = { baseline: [], current: [first] };
  for (let round = 0; round < baseline.rounds; round++) {
    runs.baseline.push(await onFreshServer(baseline.module));
    if (runs.current.length < baseline.rounds) runs.current.push(await onFreshServer());
  }
  const figures = (list: StormResult[]): BuildFigures => {
    const median = (key: (typeof MEDIAN_FIGURES)[number]) => quantile(list.map((r) => r[key]).sort((a, b) => a - b), 0.5);
    const medians = Object.fromEntries(MEDIAN_FIGURES.map((key) => [key, median(key)])) as Pick<StormResult, (typeof MEDIAN_FIGURES)[number]>;
    return { ...medians, reconnecting: list.reduce((sum, r) => sum + (r.events['RECONNECTING/INTERRUPTED'] ?? 0), 0) };
  };
  const comparison = { client: baseline.dir, rounds: baseline.rounds, baseline: figures(runs.baseline), current: figures(runs.current) };
  ctx.log(`${name}: rtm: baseline client (${baseline.dir}), median of ${baseline.rounds}: ${formatBuildFigures(comparison.baseline)}`);
  ctx.log(`${name}: rtm: this client, median of ${baseline.rounds}: ${formatBuildFigures(comparison.current)}`);
  return comparison;
}

/** The storm with the clients split over two processes, 5 msgs/s. */
export function runStorm(ctx: BenchContext): Promise<ScenarioReport<StormResult>> {
  const params = ctx.quick
    ? { clients: 200, ratePerSec: 5, beforeMs: 500, outageMs: 1000, afterMs: 1500, stormProcesses: 2 }
    : { clients: 2000, ratePerSec: 5, beforeMs: 2000, outageMs: 1000, afterMs: 4000, stormProcesses: 2 };
  return runStormVariant(ctx, 'storm', 'Reconnect storm', params, { bareWsFloor: false });
}

/**
 * Issue 11, item 6: every client in one process, 20 msgs/s, so that a late resume misses more
 * than a channel replay carries (32): such a loss must be reported (`Recovered`), never silent.
 */
export function runStormOneProcess(ctx: BenchContext): Promise<ScenarioReport<StormResult>> {
  const params = ctx.quick
    ? { clients: 200, ratePerSec: 20, beforeMs: 500, outageMs: 1000, afterMs: 1500, stormProcesses: 1 }
    : { clients: 2000, ratePerSec: 20, beforeMs: 2000, outageMs: 1000, afterMs: 4000, stormProcesses: 1 };
  return runStormVariant(ctx, 'storm1', 'Reconnect storm, one client process', params, { bareWsFloor: true });
}

await runIfMain(import.meta.url, process.argv.includes('--one-process') ? runStormOneProcess : runStorm);
