/** `rtm-statechart serve`: prints its addresses, answers /healthz, exits cleanly on SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
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
});
