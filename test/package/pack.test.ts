/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project, and use
 * it from plain Node with no TypeScript tooling (issue: package foundation).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rtm-pack-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
}

describe('npm pack', () => {
  it('installs into an empty project and runs from plain Node: CONNECTING → (6 s) → DISCONNECTED / LOGIN_TIMEOUT', () => {
    // `npm test` builds before running the tests; packing without scripts keeps this test from
    // rewriting dist/ while the inspector tests serve files from it.
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'], root);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    const app = join(work, 'app');
    run('mkdir', ['-p', app], work);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball!)], app);

    writeFileSync(
      join(app, 'check.mjs'),
      `
import { createActor, SimulatedClock } from 'xstate';
const { connectionMachine, defaultTiming } = await import('rtm-statechart/machines');
const clock = new SimulatedClock();
const actor = createActor(connectionMachine, { clock });
const seen = [];
actor.on('ConnectionStateChanged', (e) => seen.push(e.state + '/' + e.reason));
actor.start();
actor.send({ type: 'LOGIN', uid: 'alice', token: 't' });
clock.increment(defaultTiming.loginTimeoutMs - 1);
seen.push(String(actor.getSnapshot().value));
clock.increment(1);
const client = await import('rtm-statechart');
const server = await import('rtm-statechart/server');
const testing = await import('rtm-statechart/testing');
console.log(JSON.stringify({
  seen,
  client: typeof client.RtmClient,
  server: typeof server.createRtmServer,
  testing: typeof testing.createFaultProxy,
}));
`,
    );
    const out = JSON.parse(run('node', ['check.mjs'], app)) as Record<string, unknown>;
    expect(out).toEqual({
      seen: ['CONNECTING/LOGIN', 'CONNECTING', 'DISCONNECTED/LOGIN_TIMEOUT'],
      client: 'function',
      server: 'function',
      testing: 'function',
    });
    // The bin is there and answers.
    expect(run('npx', ['--no-install', 'rtm-statechart', '--help'], app)).toContain('usage: rtm-statechart');
  }, 300_000);
});
