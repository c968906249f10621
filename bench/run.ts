/**
 * `npm run bench [-- --quick] [--only fanout,peer,inspector] [--systems rtm,socketio] [--profile]`
 *
 * Runs every scenario in turn against our server, Socket.IO 4 and a bare ws server, each in
 * its own processes, prints progress and a table, writes bench/results/<timestamp>.json and
 * a chart (.svg) and a Markdown table (.md) next to it, and prints each target as MET or
 * MISSED. With --quick the sizes are small, and the run fails (exit 1) unless every scenario
 * ran and delivered everything; no timing is asserted. With --profile our server runs under
 * `node --cpu-prof` and the hottest functions of each profile are printed.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { renderChart } from './lib/chart.js';
import { defaultContext, type Check } from './lib/context.js';
import { killAllChildren, liveChildCount } from './lib/processes.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from './lib/profile.js';
import { evaluateTargets, formatMarkdown, formatTable, formatTargets, tableRows, type Reports } from './lib/report.js';
import type { ScenarioReport } from './lib/scenario.js';
import { runClient } from './scenarios/client.js';
import { runFanout } from './scenarios/fanout.js';
import { runFanout3 } from './scenarios/fanout3.js';
import { runInspector } from './scenarios/inspector.js';
import { openFileLimit, runMemory } from './scenarios/memory.js';
import { runPeer } from './scenarios/peer.js';
import { runStorm, runStormOneProcess } from './scenarios/storm.js';
import { runStorm3 } from './scenarios/storm3.js';

const SCENARIOS = [
  ['fanout', runFanout],
  ['peer', runPeer],
  ['storm', runStorm],
  ['storm1', runStormOneProcess],
  ['memory', runMemory],
  ['client', runClient],
  ['fanout3', runFanout3],
  ['storm3', runStorm3],
  ['inspector', runInspector],
] as const;

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const ctx = defaultContext();
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? (process.argv[onlyIndex + 1] ?? '').split(',') : null;
if (process.argv.includes('--profile')) {
  ctx.profileDir = `${resultsDir}profiles-${stamp}`;
  mkdirSync(ctx.profileDir, { recursive: true });
}

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

// A hard bound on the whole run, whatever happens: the quick run takes 1–3 minutes (the
// multi-node scenario starts seven server processes; under a load average of 17 the run took
// 110 s before it), so it is stopped at 5.
const hardLimitMs = ctx.quick ? 300_000 : 25 * 60_000;
const watchdog = setTimeout(() => {
  console.error(`bench: the run exceeded ${hardLimitMs / 1000} s; stopping every process`);
  killAllChildren();
  process.exit(2);
}, hardLimitMs);
watchdog.unref();

const startedAt = new Date();
const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
const reports: Reports = {};
const checks: Check[] = [];
ctx.log(
  `bench: ${ctx.quick ? 'quick' : 'full'} run on ${os.cpus().length} CPUs, Node ${process.version}, ulimit -n ${openFileLimit()}, load average ${loadAtStart.join(' ')}`,
);

for (const [name, run] of SCENARIOS) {
  if (only && !only.includes(name)) continue;
  ctx.log(`=== scenario ${name} ===`);
  try {
    const report = await run(ctx);
    (reports as Record<string, ScenarioReport<unknown>>)[name] = report as ScenarioReport<unknown>;
    checks.push(...report.checks);
    ctx.log(`=== scenario ${name} done in ${(report.durationMs / 1000).toFixed(1)} s ===`);
  } catch (error) {
    ctx.log(`scenario ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    checks.push({ scenario: name, ok: false, what: `scenario crashed: ${error instanceof Error ? error.message : String(error)}` });
    killAllChildren();
  }
}

const rows = tableRows(reports);
const targets = evaluateTargets(reports);
const profiles: ProfileSummary[] = [];
if (ctx.profileDir) {
  for (const file of readdirSync(ctx.profileDir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    profiles.push({ ...summarizeProfile(`${ctx.profileDir}/${file}`), file });
  }
}

const subtitle = `${ctx.quick ? 'quick' : 'full'} run ${startedAt.toISOString()} · commit ${commit()} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'} · Node ${process.version} · load avg ${loadAtStart[0]} → ${os.loadavg()[0]?.toFixed(2)}`;
const result = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  quick: ctx.quick,
  commit: commit(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    ulimitN: String(openFileLimit()),
    /** Other work on the machine skews latency and throughput (not CPU per delivery): judge with these. */
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100),
  },
  targets,
  checks,
  scenarios: reports,
  profiles,
};
mkdirSync(resultsDir, { recursive: true });
const base = `${resultsDir}${stamp}${ctx.quick ? '-quick' : ''}`;
writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(`${base}.svg`, renderChart(reports, subtitle));
writeFileSync(`${base}.md`, `${subtitle}\n\n${formatMarkdown(rows)}\n\n${targets.map((t) => `- **${t.status}** ${t.name}: ${t.detail}`).join('\n')}\n`);

console.log(`\n${formatTable(rows)}\n`);
console.log(`Targets (${ctx.quick ? 'quick sizes: indicative only' : 'full run'}):\n${formatTargets(targets)}\n`);
for (const p of profiles) console.log(`${formatProfile(p)}\n`);
const failed = checks.filter((c) => !c.ok);
for (const c of failed) console.log(`CHECK FAILED [${c.scenario}] ${c.what}`);
console.log(`${checks.length - failed.length}/${checks.length} checks passed`);
console.log(`results: ${base}.json, ${base}.svg, ${base}.md`);

killAllChildren();
if (liveChildCount() > 0) console.error('bench: some child processes were still running and were killed');
process.exit(failed.length > 0 ? 1 : 0);
