/**
 * `rtm-statechart machine [--json | --mermaid] [--name connection|session]`: prints a machine's
 * definition, as JSON for import into Stately's tools and XState's `createMachine` (the config,
 * with the default delay values under `delays`; see machines/definition.ts), or as the Mermaid
 * diagram in the README. Bad options print the usage and exit with status 2.
 */
import { parseArgs } from 'node:util';
import { connectionMachine, sessionMachine } from '../../machines/index.js';
import { machineDefinition } from '../../machines/definition.js';
import { toMermaid } from '../../machines/diagram.js';

const machines = { connection: connectionMachine, session: sessionMachine } as const;
const usage = 'usage: rtm-statechart machine [--json | --mermaid] [--name connection|session]';

function refuse(message: string): void {
  console.error(`rtm-statechart machine: ${message}\n${usage}`);
  process.exitCode = 2;
}

export async function run(argv: string[]): Promise<void> {
  let values: { json?: boolean; mermaid?: boolean; name?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        mermaid: { type: 'boolean' },
        name: { type: 'string', default: 'connection' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    refuse(error instanceof Error ? error.message : String(error));
    return;
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  if (values.json && values.mermaid) return refuse('choose one of --json and --mermaid');
  const name = values.name ?? 'connection';
  if (!Object.hasOwn(machines, name)) return refuse(`unknown machine '${name}' (connection, session)`);
  const machine = machines[name as keyof typeof machines];
  console.log(values.mermaid ? toMermaid(machine) : JSON.stringify(machineDefinition(machine), null, 2));
}
