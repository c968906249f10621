/** What every scenario is given by run.ts. */
export interface BenchContext {
  /** Small sizes for a CI smoke run. */
  quick: boolean;
  /** Write a CPU profile of our server (`node --cpu-prof`) into this folder. */
  profileDir?: string;
  /** Progress output. */
  log(message: string): void;
}

/** A problem found by a scenario: the run exits non-zero in --quick mode when any exists. */
export interface Check {
  scenario: string;
  ok: boolean;
  what: string;
}

export function defaultContext(): BenchContext {
  const quick = process.argv.includes('--quick');
  const start = performance.now();
  return {
    quick,
    log: (message) => console.log(`[${((performance.now() - start) / 1000).toFixed(1).padStart(5)} s] ${message}`),
  };
}
