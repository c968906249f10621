/**
 * Scenario 7, node loss (issue 13): `clients` real clients (RtmClient / socket.io-client) in one
 * channel reach three server nodes on one private Redis through a TCP load balancer (its own
 * process; each new connection to the next node, failing over when a node refuses), a sender on
 * node 0 sends 5 channel messages/s, and node 2 is killed with SIGKILL. Its clients re-dial
 * through the balancer and land on the two nodes left. Measured from the kill: when every client
 * is connected again and holds every message sent before the kill, how many messages each
 * client never got (lost) or got twice, and (ours) whether any client left CONNECTED.
 * Socket.IO runs with `@socket.io/redis-streams-adapter` and connection state recovery; its
 * session of a client lives on the node that held it, so a node's death is expected to lose.
 */
import type { BenchContext } from '../lib/context.js';
import { serverCpu, startNodeCluster, stopCluster, tokensFor } from '../lib/cluster.js';
import { startChild, type ChildHandle } from '../lib/processes.js';
import { redisServerAvailable, startRedis } from '../lib/redis.js';
import { check, runIfMain, selectedSystems, type ScenarioReport } from '../lib/scenario.js';
import type { StormOpenRequest, StormStats } from '../load/storm-worker.js';
import type { OpenRequest, SendRequest } from '../load/worker.js';
import { wallClockMs } from '../load/payload.js';
import { maxOf, p50Of, sleep } from './storm.js';

const CHANNEL = 'bench-storm3';
const NODES = 3;

export interface Storm3Result {
  clients: number;
  /** Clients whose connection went down with the node and came back. */
  affected: number;
  messagesSent: number;
  sentBeforeKill: number;
  caughtUp: number;
  catchUpP50Ms: number;
  catchUpMaxMs: number;
  lost: number;
  /** Ours: lost messages that a `Recovered` event reported. */
  reportedLost: number;
  duplicates: number;
  /** Connection state changes after the kill, by state/reason (ours; Socket.IO: connect/disconnect events). */
  events: Record<string, number>;
  /** Server CPU of the two nodes left, summed, from before the kill to the end, ms. */
  serverCpuMs: number;
}


async function killOnce(system: 'rtm' | 'socketio', params: { clients: number; ratePerSec: number; beforeMs: number; afterMs: number }, ctx: BenchContext): Promise<Storm3Result> {
  const redis = await startRedis();
  const helpers: ChildHandle[] = [];
  try {
    const cluster = await startNodeCluster(system, NODES, 1, redis.url);
    try {
      const [balancer, storm] = await Promise.all([
        startChild(`${system} balancer`, 'servers/balancer.ts', ['--targets', cluster.urls.join(',')]),
        startChild(`${system} storm`, 'load/storm-worker.ts', []),
      ]);
      helpers.push(balancer, storm);
      const sender = cluster.workers[0]!;
      const totalMessages = Math.ceil((params.ratePerSec * (params.beforeMs + params.afterMs)) / 1000);
      const keySpace = totalMessages + 1;
      const [senderToken] = await tokensFor(cluster, ['storm3-sender']);
      const opened = await sender.request<{ failed: number; firstError?: string }>('open', {
        system,
        url: cluster.urls[0]!,
        connections: [{ uid: 'storm3-sender', token: senderToken, channel: CHANNEL }],
        concurrency: 1,
      } satisfies OpenRequest);
      if (opened.failed) throw new Error(`storm3 sender failed to connect: ${opened.firstError}`);
      const uids = Array.from({ length: params.clients }, (_, i) => `storm3-${i}`);
      const tokens = await tokensFor(cluster, uids);
      const result = await storm.request<{ failed: number; firstError?: string }>(
        'open',
        {
          system,
          url: String(system === 'socketio' ? balancer.ready['httpUrl'] : balancer.ready['url']),
          channel: CHANNEL,
          clients: uids.map((uid, i) => ({ uid, token: tokens[i] })),
          keySpace,
          concurrency: 25,
        } satisfies StormOpenRequest,
        180_000,
      );
      if (result.failed) throw new Error(`${result.failed} storm3 clients failed to connect: ${result.firstError}`);
      ctx.log(`storm3: ${system}: ${params.clients} clients joined over ${NODES} nodes through the balancer`);

      await sender.request('arm', { keySpace });
      const victim = cluster.servers[NODES - 1]!;
      const survivors = { ...cluster, servers: cluster.servers.slice(0, NODES - 1) };
      const cpu0 = await serverCpu(survivors);
      const sending = sender.request<{ sent: number }>(
        'send',
        { senders: [{ connection: 0, keyBase: 0, count: totalMessages }], ratePerSender: params.ratePerSec, boundMs: 60_000 } satisfies SendRequest,
        90_000,
      );
      await sleep(params.beforeMs);
      await storm.request('outage');
      const sentBeforeKill = await sender.request<number>('progress');
      process.kill(victim.pid, 'SIGKILL');
      const killedAt = wallClockMs();
      // At once, so that a client that is back in a few ms is seen as back then.
      await storm.request('target', { count: sentBeforeKill, atMs: killedAt });
      await victim.exited;
      ctx.log(`storm3: ${system}: node ${NODES - 1} killed; ${sentBeforeKill} messages sent before`);
      const { sent } = await sending;
      const deadline = performance.now() + 5_000;
      let stats: StormStats;
      for (;;) {
        stats = await storm.request<StormStats>('stats', { sentTotal: sent });
        if ((stats.caughtUp === params.clients && stats.lost === 0) || performance.now() > deadline) break;
        await sleep(100);
      }
      const cpu1 = await serverCpu(survivors);
      const catchUp = stats.catchUpMs;
      return {
        clients: params.clients,
        affected: stats.linkUpMs.length,
        messagesSent: sent,
        sentBeforeKill,
        caughtUp: stats.caughtUp,
        catchUpP50Ms: p50Of(catchUp),
        catchUpMaxMs: maxOf(catchUp),
        lost: stats.lost,
        reportedLost: stats.reportedLost,
        duplicates: stats.duplicates,
        events: stats.stateChangesSinceOutage,
        serverCpuMs: Math.round((cpu1.cpuMicros - cpu0.cpuMicros) / 1000),
      };
    } finally {
      await Promise.all(helpers.map((h) => h.stop()));
      await stopCluster(cluster);
    }
  } finally {
    await redis.stop();
  }
}

export async function runStorm3(ctx: BenchContext): Promise<ScenarioReport<Storm3Result>> {
  const started = performance.now();
  const params = ctx.quick
    ? { clients: 60, ratePerSec: 5, beforeMs: 1000, afterMs: 3000 }
    : { clients: 600, ratePerSec: 5, beforeMs: 2000, afterMs: 6000 };
  const report: ScenarioReport<Storm3Result> = { name: 'storm3', title: `Node loss: one of ${NODES} nodes killed`, params: { ...params, nodes: NODES }, systems: {}, checks: [], durationMs: 0 };
  if (!redisServerAvailable()) {
    report.checks.push(check('storm3', false, 'redis-server is not installed (apt-get install redis-server)'));
    return report;
  }
  for (const system of selectedSystems().filter((s): s is 'rtm' | 'socketio' => s !== 'ws')) {
    ctx.log(`storm3: ${system}: ${NODES} nodes on a private Redis, a balancer, ${params.clients} clients`);
    const result = await killOnce(system, params, ctx);
    report.systems[system] = result;
    ctx.log(
      `storm3: ${system}: ${result.affected} clients came back, ${result.caughtUp}/${result.clients} caught up, max ${result.catchUpMaxMs} ms after the kill; lost ${result.lost}, duplicated ${result.duplicates}`,
    );
    report.checks.push(check('storm3', result.affected > 0 && result.messagesSent > 0, `${system}: ${result.affected} clients lost their node and came back, ${result.messagesSent} messages sent`));
    if (system === 'rtm') {
      const leftConnected = Object.entries(result.events).filter(([k]) => !k.startsWith('CONNECTED')).reduce((n, [, v]) => n + v, 0);
      report.checks.push(
        check('storm3', result.caughtUp === result.clients && result.lost === 0 && result.duplicates === 0, `rtm: ${result.caughtUp}/${result.clients} caught up, ${result.lost} lost, ${result.duplicates} duplicated (R12.2)`),
        check('storm3', leftConnected === 0, `rtm: ${leftConnected} state changes out of CONNECTED after the kill (R12.2: none)`),
      );
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runStorm3);
