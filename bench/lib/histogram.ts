/**
 * A latency histogram small enough to send over IPC and merge across processes.
 * Buckets grow by 2 % each, from 1 µs up, so every percentile is exact to within 2 %.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** 1 µs × 1.02^1200 ≈ 20 000 s: far beyond any bounded run. */
export const BUCKETS = 1200;

export type Histogram = Uint32Array;

export function createHistogram(): Histogram {
  return new Uint32Array(BUCKETS);
}

export function recordMs(hist: Histogram, ms: number): void {
  const micros = Math.max(1, ms * 1000);
  const index = Math.min(BUCKETS - 1, Math.floor(Math.log(micros) / LOG_GROWTH));
  hist[index] = (hist[index] ?? 0) + 1;
}

export function mergeInto(target: Histogram, source: ArrayLike<number>): void {
  for (let i = 0; i < BUCKETS; i++) target[i] = (target[i] ?? 0) + (source[i] ?? 0);
}

export function countOf(hist: Histogram): number {
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) total += hist[i] ?? 0;
  return total;
}

/** The value (ms) below which `fraction` of the samples lie; the bucket's upper bound. NaN when empty. */
export function percentileMs(hist: Histogram, fraction: number): number {
  const total = countOf(hist);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(total * fraction));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return Math.pow(GROWTH, i + 1) / 1000;
  }
  return Math.pow(GROWTH, BUCKETS) / 1000;
}
