/**
 * Child side of the benchmark's process management: answer the parent's requests, announce
 * readiness, and exit by itself when the parent goes away or the lifetime bound passes.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

type Handler = (payload: any) => unknown;

/**
 * V8's CPU profiler (the one behind `node --cpu-prof`), started and stopped on request so a
 * profile covers only a measured phase, not start-up or connection set-up.
 */
let profiler: Session | null = null;
const profilerHandlers: Record<string, Handler> = {
  profileStart: async () => {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.post('Profiler.start');
    return true;
  },
  profileStop: async (request: { file: string }) => {
    if (!profiler) return false;
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = null;
    writeFileSync(request.file, JSON.stringify(profile));
    return request.file;
  },
};

export interface ServeOptions {
  /** Hard bound on the process's life, whatever happens. */
  maxLifeMs?: number;
}

export function serveRequests(handlers: Record<string, Handler>, options: ServeOptions = {}): void {
  if (!process.send) throw new Error('this entry must be started by bench/run.ts (it needs an IPC channel)');
  // tsx turns on source-mapped stack traces, which makes every read of an error's `stack` cost
  // tens of µs (Node's streams read it when a socket is destroyed with an error; a reconnect
  // storm does that thousands of times). An application on compiled JavaScript runs without
  // them, and so do the benchmarked processes (their stacks point into tsx's output instead).
  process.setSourceMapsEnabled(false);
  process.on('disconnect', () => process.exit(0));
  const life = setTimeout(() => {
    console.error(`[bench child ${process.pid}] lifetime bound reached, exiting`);
    process.exit(3);
  }, options.maxLifeMs ?? 15 * 60_000);
  life.unref();

  process.on('message', async (message: { type: string; reqId: number; payload: unknown }) => {
    const handler = handlers[message.type] ?? profilerHandlers[message.type];
    const answer = (reply: Record<string, unknown>) => {
      if (process.connected) process.send!({ type: 'reply', reqId: message.reqId, ...reply });
    };
    if (!handler) {
      answer({ ok: false, error: `unknown request '${message.type}'` });
      return;
    }
    try {
      answer({ ok: true, value: await handler(message.payload) });
    } catch (error) {
      answer({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    if (message.type === 'stop') setTimeout(() => process.exit(0), 20);
  });
}

export function announceReady(info: Record<string, unknown> = {}): void {
  process.send!({ type: 'ready', ...info });
}

/** Reads `--name value` from argv. */
export function argValue(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) {
    if (fallback === undefined) throw new Error(`missing --${name}`);
    return fallback;
  }
  return value;
}
