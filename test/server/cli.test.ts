/**
 * `rtm-statechart serve`: prints its addresses, answers /healthz, exits cleanly on SIGTERM.
 * `rtm-statechart machine --json`: prints a definition that createMachine imports (R10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, createMachine, SimulatedClock } from 'xstate';
import { connectionMachine, defaultTiming, sessionMachine } from '../../machines/index.js';
import { machineDefinition, type MachineDefinition } from '../../machines/definition.js';
import { createToken } from '../../src/server/index.js';
import { RawClient } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('serve command', () => {
  it('starts on --port 0, prints the ws and inspector URLs, serves /healthz and stops on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--secret', 'cli-test'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out} ${err}`)), 20_000);
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /RTM server listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match && /Inspector page: http:\/\/127\.0\.0\.1:\d+\/inspector/.test(out)) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const health = await fetch(`${url.replace('ws:', 'http:')}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });

    const client = await RawClient.connect(url);
    const grant = await client.ok({ t: 'login', v: 1, uid: 'alice', token: createToken('cli-test', 'alice') });
    expect(grant.sessionExpired).toBe(false);

    // Logs are JSON lines.
    const logLines = out.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(JSON.parse(line)).toHaveProperty('event');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await client.closed).code).toBe(4004);
    expect(err).toBe('');
  });

  it('R11 warns on stderr when it runs with a generated secret (tokens do not survive a restart)', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--no-inspector'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RTM_SECRET: '' },
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out} ${err}`)), 20_000);
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/RTM server listening on/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // The warning is written before the address; stderr may still be on its way.
    const deadline = Date.now() + 10_000;
    while (!err.includes('warning: no --secret or RTM_SECRET') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGTERM');
    expect(err).toContain('warning: no --secret or RTM_SECRET');
  });
});

/** Runs the command line to its end. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    cli.on('error', reject);
    cli.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('machine command', () => {
  it('R10 machine --json prints a definition that createMachine starts from alone: LOGIN, then DISCONNECTED after the printed 6 s', async () => {
    const { code, stdout, stderr } = await runCli(['machine', '--json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const definition = JSON.parse(stdout) as MachineDefinition;
    expect(definition).toEqual(JSON.parse(JSON.stringify(machineDefinition(connectionMachine))));
    expect(definition.delays.loginTimeout).toBe(defaultTiming.loginTimeoutMs);

    // No implementation of ours: the printed delays are enough to run the chart's timing.
    const clock = new SimulatedClock();
    const actor = createActor(createMachine(definition as never, { delays: definition.delays }), { clock });
    const failures: unknown[] = [];
    actor.subscribe({ error: (error) => failures.push(error) });
    actor.start();
    actor.send({ type: 'LOGIN', uid: 'alice', token: 't' });
    clock.increment(defaultTiming.loginTimeoutMs - 1);
    expect(actor.getSnapshot().value).toBe('CONNECTING');
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe('DISCONNECTED');
    expect(failures).toEqual([]);
    actor.stop();
  });

  it('R10 machine --json --name session prints the session machine\'s definition', async () => {
    const { code, stdout, stderr } = await runCli(['machine', '--json', '--name', 'session']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(machineDefinition(sessionMachine))));
    expect((JSON.parse(stdout) as MachineDefinition).delays).toEqual({ presenceTimeout: defaultTiming.presenceTimeoutMs });
  });

  it('R10 an unknown machine, an unknown option or both formats at once: usage on stderr, exit status 2, nothing on stdout', async () => {
    for (const args of [['--name', 'nope'], ['--bogus'], ['--json', '--mermaid']]) {
      const { code, stdout, stderr } = await runCli(['machine', ...args]);
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(stderr).toContain('usage: rtm-statechart machine');
    }
  });
});
