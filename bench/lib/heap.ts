/**
 * Summarises a V8 heap snapshot (`v8.writeHeapSnapshot`): retained-by-nobody-in-particular
 * "self size" totals by constructor / type, so the memory scenario can say what a connection
 * costs, not only how much.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapSummary {
  totalBytes: number;
  /** Largest groups by self size: `name (type)`, count, bytes. */
  groups: Array<{ name: string; count: number; bytes: number }>;
}

/** What `after` holds that `before` did not, by group, largest first. */
export function diffHeaps(before: string, after: string, top = 20): HeapSummary['groups'] {
  const a = new Map(summarizeHeap(before, Number.POSITIVE_INFINITY).groups.map((g) => [g.name, g]));
  return summarizeHeap(after, Number.POSITIVE_INFINITY)
    .groups.map((g) => ({ name: g.name, count: g.count - (a.get(g.name)?.count ?? 0), bytes: g.bytes - (a.get(g.name)?.bytes ?? 0) }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, top);
}

export function summarizeHeap(file: string, top = 20): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    const size = snap.nodes[i + sizeAt]!;
    totalBytes += size;
    // Objects and closures are grouped by constructor / function name; everything else by type.
    const name = type === 'object' || type === 'closure' ? `${snap.strings[snap.nodes[i + nameAt]!]} (${type})` : `(${type})`;
    const g = groups.get(name) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(name, g);
  }
  return {
    totalBytes,
    groups: [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top).map(([name, g]) => ({ name, ...g })),
  };
}
