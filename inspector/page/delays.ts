/** The delayed transitions pending in a snapshot, and how long each has left. */
import type { ActorView, SnapshotEntry } from './store.js';
import type { TransitionView } from './machine-graph.js';

export interface PendingDelay {
  transition: TransitionView;
  /** The `after` key: delay name, or ms as a string. */
  key: string;
  /** Total delay in ms, when known. */
  ms: number | null;
  /** Time left in ms at `now` (never below 0), when known. */
  remaining: number | null;
}

export function pendingDelays(actor: ActorView, entry: SnapshotEntry, now: number): PendingDelay[] {
  if (!actor.graph || entry.snapshot.status !== undefined && entry.snapshot.status !== 'active') return [];
  const out: PendingDelay[] = [];
  const seen = new Set<string>();
  for (const t of actor.graph.transitions) {
    if (!t.delay || !entry.active.has(t.source.id)) continue;
    // Guarded alternatives share one timer: show it once per source and key.
    const id = `${t.source.id}|${t.delay.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const ms = t.delay.ms ?? entry.delays[t.delay.key] ?? actor.delays[t.delay.key] ?? null;
    const start = entry.enteredAt.get(t.source.id);
    const remaining = ms === null || start === undefined ? null : Math.min(ms, Math.max(0, start + ms - now));
    out.push({ transition: t, key: t.delay.key, ms, remaining });
  }
  return out;
}

export function remainingText(remaining: number | null): string {
  if (remaining === null) return 'pending';
  return `${(remaining / 1000).toFixed(1)} s`;
}
