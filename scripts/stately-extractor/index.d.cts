/** The part of @xstate/machine-extractor that the R10 import tests use. */
export interface ExtractedMachine {
  /** The machine config as Stately reads it from the source: states, transitions, guards (`cond`), actions. */
  toConfig(): Record<string, unknown> | undefined;
  /** Delay names used in `after`, keyed by name (only keys written as identifiers). */
  getAllNamedDelays(): Record<string, unknown[]>;
  /** The source text of each implementation passed as createMachine's second argument. */
  getAllMachineImplementations(): {
    actions: Record<string, string>;
    actors: Record<string, string>;
    guards: Record<string, string>;
    delays: Record<string, string>;
  };
}

export function extractMachinesFromFile(fileContent: string): { machines: Array<ExtractedMachine | undefined> } | null;
