/**
 * Writes the Mermaid diagrams of the machines into README.md, between the markers
 * `<!-- diagram:NAME:start -->` and `<!-- diagram:NAME:end -->`. With --check it only
 * compares and exits 1 when the README has drifted from the definitions.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectionMachine, linkMachine, sessionMachine } from '../machines/index.js';
import { toMermaid } from '../machines/diagram.js';

export const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const diagrams = { connection: connectionMachine, link: linkMachine, session: sessionMachine } as const;

export function block(name: keyof typeof diagrams): string {
  return ['```mermaid', toMermaid(diagrams[name]), '```'].join('\n');
}

export function withDiagrams(readme: string): string {
  let out = readme;
  for (const name of Object.keys(diagrams) as Array<keyof typeof diagrams>) {
    const pattern = new RegExp(`(<!-- diagram:${name}:start -->)[\\s\\S]*?(<!-- diagram:${name}:end -->)`);
    if (!pattern.test(out)) throw new Error(`README.md has no markers for the ${name} diagram`);
    out = out.replace(pattern, (_m, start: string, end: string) => `${start}\n${block(name)}\n${end}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(readmePath, 'utf8');
  const next = withDiagrams(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('README.md diagrams differ from the machine definitions; run npm run machine:diagram');
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(readmePath, next);
    console.log('README.md diagrams updated');
  }
}
