/**
 * `rtm-statechart machine [--json | --mermaid] [--name connection|session]`: prints a machine's
 * definition, as JSON for import into Stately's tools, or as the Mermaid diagram in the README.
 */
import { parseArgs } from 'node:util';
import { connectionMachine, sessionMachine } from '../../machines/index.js';
import { toMermaid } from '../../machines/diagram.js';

const machines = { connection: connectionMachine, session: sessionMachine } as const;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      mermaid: { type: 'boolean' },
      name: { type: 'string', default: 'connection' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: rtm-statechart machine [--json | --mermaid] [--name connection|session]');
    return;
  }
  const name = values.name as string;
  if (!(name in machines)) throw new Error(`unknown machine '${name}' (connection, session)`);
  const machine = machines[name as keyof typeof machines];
  console.log(values.mermaid ? toMermaid(machine) : JSON.stringify(machine.toJSON(), null, 2));
}
