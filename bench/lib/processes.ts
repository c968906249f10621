/**
 * Parent side of the benchmark's process management. Every server and load client is a
 * separate Node process (`node --import tsx <entry>`), forked with an IPC channel so the
 * parent can ask it for measurements. Every child is tracked here and killed when the
 * parent exits for any reason, and each child exits by itself when the IPC channel closes
 * (see ipc.ts), so a run never leaves processes behind.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const live = new Set<ChildProcess>();
let guardsInstalled = false;

function installGuards(): void {
  if (guardsInstalled) return;
  guardsInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}

export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

export function liveChildCount(): number {
  return live.size;
}

interface Reply {
  type: 'reply';
  reqId: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  /** What the child announced when it became ready. */
  readonly ready: Record<string, unknown>;
  request<T = unknown>(type: string, payload?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, then kills it if it has not exited within a few seconds. */
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Extra Node flags (`--expose-gc`, `--cpu-prof`, …). */
  nodeFlags?: string[];
  /** How long the child may take to announce itself. */
  readyTimeoutMs?: number;
}

/** Forks `bench/<relativeEntry>` with `node --import tsx` and waits for its `ready` message. */
export function startChild(name: string, relativeEntry: string, args: string[], options: StartOptions = {}): Promise<ChildHandle> {
  installGuards();
  const entry = fileURLToPath(new URL(`../${relativeEntry}`, import.meta.url));
  const child = fork(entry, args, {
    execArgv: ['--import', 'tsx', ...(options.nodeFlags ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      for (const pending of waiting.values()) pending.reject(new Error(`${name} exited (code ${code}) during a request`));
      waiting.clear();
      resolve(code);
    });
  });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;

  child.on('message', (message: unknown) => {
    const reply = message as Reply;
    if (reply?.type !== 'reply') return;
    const pending = waiting.get(reply.reqId);
    if (!pending) return;
    waiting.delete(reply.reqId);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(new Error(`${name}: ${reply.error}`));
  });

  const request = <T>(type: string, payload?: unknown, timeoutMs = 60_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) {
        reject(new Error(`${name} is not running`));
        return;
      }
      const reqId = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(reqId);
        reject(new Error(`${name}: '${type}' got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(reqId, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ type, reqId, payload });
    });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await request('stop', undefined, 5_000).catch(() => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<ChildHandle>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${options.readyTimeoutMs ?? 30_000} ms`));
    }, options.readyTimeoutMs ?? 30_000);
    const onReady = (message: unknown) => {
      const m = message as { type?: string };
      if (m?.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve({ name, pid: child.pid ?? -1, ready: m as Record<string, unknown>, request, stop, exited });
    };
    child.on('message', onReady);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    });
  });
}
