/**
 * Vitest global setup: the Redis the Redis tests use. `RTM_TEST_REDIS_URL` names one (CI starts
 * its own and sets it); otherwise a private `redis-server` is started here on a free loopback
 * port, with nothing saved to disk, and stopped after the run. Tests read the URL with
 * `inject('redisUrl')`.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, startRedisServer } from './redis-server.js';
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
  child = await startRedisServer(port);
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
}

export async function teardown(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}
