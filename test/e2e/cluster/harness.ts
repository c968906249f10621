/**
 * Several server processes on one Redis, for the multi-node tests (issue 13, R12). Each node runs
 * `node.ts` in a child process; `kill()` is SIGKILL. Clients reach the nodes through balancers:
 * a balancer forwards each new TCP connection to its preferred node and, when that one refuses
 * (killed), to the next live one, as a load balancer in front of a cluster does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Timing } from '../../../machines/timing.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const script = fileURLToPath(new URL('./node.ts', import.meta.url));

export interface NodeOptions {
  redisUrl: string;
  keyPrefix: string;
  secret: string;
  nodeId: string;
  port?: number;
  timing?: Partial<Timing>;
  heartbeat?: { intervalMs: number; timeoutMs: number };
  limits?: Record<string, number>;
}

export interface ClusterNode {
  readonly nodeId: string;
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Everything the node wrote to stderr (its logs, a crash). */
  stderr(): string;
  ban(uid: string): void;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<ClusterNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${options.nodeId} did not start in 20 s: ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string; port: number });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${options.nodeId} exited (${String(code)}) before listening: ${err}`));
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    nodeId: options.nodeId,
    url: started.url,
    port: started.port,
    process: child,
    stderr: () => err,
    ban(uid) {
      child.stdin!.write(`ban ${uid}\n`);
    },
    async kill() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone()) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Clients reach the nodes through the package's failover balancer (rtm-statechart/testing). */
export { createBalancer as startBalancer, type Balancer } from '../../../src/testing/balancer.js';

export const freshPrefix = (): string => `cluster:${randomBytes(5).toString('hex')}:`;
