/**
 * Benchmark message text: `<key>|<sent at, ms since the epoch, µs precision>|` padded to a
 * fixed size. The key tells receivers which message it is (to count losses and duplicates);
 * the timestamp gives the one-way latency. Clocks: every process on this machine reads the
 * same system clock through performance.timeOrigin + performance.now().
 */
export const PAYLOAD_BYTES = 100;

export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function makePayload(key: number, size = PAYLOAD_BYTES): string {
  return `${key}|${wallClockMs().toFixed(3)}|`.padEnd(size, 'x');
}

export function readPayload(text: string): { key: number; sentAtMs: number } | null {
  const a = text.indexOf('|');
  const b = text.indexOf('|', a + 1);
  if (a <= 0 || b <= a) return null;
  const key = Number(text.slice(0, a));
  const sentAtMs = Number(text.slice(a + 1, b));
  if (!Number.isInteger(key) || !Number.isFinite(sentAtMs)) return null;
  return { key, sentAtMs };
}
