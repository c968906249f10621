#!/usr/bin/env node
/**
 * `rtm-statechart <command>`: serve (the RTM server with the inspector), inspect (the inspector
 * relay alone, for any XState v5 app) and machine (print a machine definition).
 * Each command lives in its own module under cli/ and is loaded only when asked for.
 */
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  serve: { summary: 'run the RTM server with the inspector', load: () => import('./cli/serve.js') },
  inspect: { summary: 'run the inspector relay and page alone', load: () => import('./cli/inspect.js') },
  machine: { summary: 'print a machine definition (--json, --mermaid)', load: () => import('./cli/machine.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`);
  return ['usage: rtm-statechart <command> [options]', '', 'commands:', ...lines, '', 'Run a command with --help for its options.'].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return;
  }
  const command = commands[name];
  if (!command) {
    console.error(`rtm-statechart: unknown command '${name}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await (await command.load()).run(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`rtm-statechart: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
