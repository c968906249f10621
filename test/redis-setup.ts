/**
 * Vitest global setup: the Redis the Redis tests use. `RTM_TEST_REDIS_URL` names one (CI starts
 * its own and sets it); otherwise a private `redis-server` is started here on a free loopback
 * port, with nothing saved to disk, and stopped after the run. Tests read the URL with
 * `inject('redisUrl')`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let child: ChildProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.RTM_TEST_REDIS_URL;
  if (given) {
    project.provide('redisUrl', given);
    return;
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error(
      'The Redis store tests need redis-server: install it (Debian/Ubuntu: apt-get install redis-server) or set RTM_TEST_REDIS_URL to a Redis they may flush',
    );
  }
  const port = await freePort();
  child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
    stdio: 'ignore',
  });
  const exited = new Promise<never>((_, reject) =>
    child!.once('exit', (code) => reject(new Error(`redis-server exited (code ${String(code)}) before accepting connections on port ${port}`))),
  );
  await Promise.race([accepting(port), exited]);
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
}

export async function teardown(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once the port answers PING with PONG (up to 10 s). */
async function accepting(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
