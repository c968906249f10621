/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and lists where the samples fell: self time by
 * function, and by file (our sources, ws, zod, xstate, Node internals …).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of non-idle samples. */
  functions: Array<{ name: string; where: string; selfPercent: number }>;
  files: Array<{ where: string; selfPercent: number }>;
}

function shortWhere(url: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (nm) return `${nm[1]}/${nm[2]}`;
  const ours = /\/(src|machines|bench|inspector)\/(.*)$/.exec(path);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return path;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)' || name === '(root)') continue;
    busy += micros;
    const where = name === '(garbage collector)' ? '(gc)' : shortWhere(node.callFrame.url);
    const key = `${name}\t${where}:${node.callFrame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + micros);
    files.set(where, (files.get(where) ?? 0) + micros);
  }
  const pct = (v: number) => Math.round((v / Math.max(1, busy)) * 1000) / 10;
  return {
    file,
    totalMs: Math.round(busy / 1000),
    functions: [...fn]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, v]) => {
        const [name, where] = key.split('\t') as [string, string];
        return { name, where, selfPercent: pct(v) };
      }),
    files: [...files]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, v]) => ({ where, selfPercent: pct(v) })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`${summary.file}: ${summary.totalMs} ms of busy samples`, '  hottest functions (self):'];
  for (const f of summary.functions) lines.push(`    ${f.selfPercent.toFixed(1).padStart(5)} %  ${f.name}  ${f.where}`);
  lines.push('  by file (self):');
  for (const f of summary.files) lines.push(`    ${f.selfPercent.toFixed(1).padStart(5)} %  ${f.where}`);
  return lines.join('\n');
}

// `node --import tsx bench/lib/profile.ts file.cpuprofile` prints the summary.
if (process.argv[1]?.endsWith('profile.ts') && process.argv[2]) {
  console.log(formatProfile(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 20))));
}
