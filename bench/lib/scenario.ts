/** The shape every scenario script returns, and the way a scenario script runs on its own. */
import { pathToFileURL } from 'node:url';
import { defaultContext, type BenchContext, type Check } from './context.js';
import { killAllChildren } from './processes.js';
import { SYSTEMS, type SystemName } from './systems.js';

export interface ScenarioReport<T = unknown> {
  name: string;
  title: string;
  params: Record<string, unknown>;
  /** Per-system measurements (absent for systems that were not run). */
  systems: Partial<Record<SystemName, T>>;
  checks: Check[];
  durationMs: number;
}

/** Systems chosen with `--systems rtm,ws` (all by default). */
export function selectedSystems(): SystemName[] {
  const i = process.argv.indexOf('--systems');
  if (i < 0) return [...SYSTEMS];
  const wanted = (process.argv[i + 1] ?? '').split(',');
  return SYSTEMS.filter((s) => wanted.includes(s));
}

export function check(scenario: string, ok: boolean, what: string): { scenario: string; ok: boolean; what: string } {
  return { scenario, ok, what };
}

/** `node --import tsx bench/scenarios/x.ts [--quick]` runs one scenario and prints its report. */
export async function runIfMain(moduleUrl: string, run: (ctx: BenchContext) => Promise<ScenarioReport>): Promise<void> {
  if (!process.argv[1] || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
  const ctx = defaultContext();
  try {
    const report = await run(ctx);
    console.log(JSON.stringify(report, (_, v) => (v instanceof Uint32Array ? undefined : v), 2));
    process.exitCode = report.checks.every((c) => c.ok) ? 0 : 1;
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    killAllChildren();
  }
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
