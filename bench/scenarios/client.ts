/**
 * Scenario 5, the client:
 * - connection-machine transitions per second: `connectionMachine` with its default no-op
 *   link, driven in this process through LOGIN → LINK_UP → LINK_DOWN → LINK_UP → LOGOUT
 *   (five transitions a cycle, each arming or cancelling a named delay);
 * - gzipped size of the browser bundle: src/index.ts and socket.io-client's ESM entry, each
 *   bundled by esbuild the same way (ESM, browser platform, minified, `ws` external).
 * Bare ws has no client library: the browser's WebSocket.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createActor } from 'xstate';
import type { BenchContext } from '../lib/context.js';
import { builtPackage } from '../lib/package.js';
import { check, runIfMain, type ScenarioReport } from '../lib/scenario.js';

const { connectionMachine } = await builtPackage('/machines');

export interface ClientResult {
  transitionsPerSec?: number;
  transitions?: number;
  bundleBytes: number;
  bundleGzipBytes: number;
  /** Minified bytes by package (or source folder), largest first. */
  bundleContents?: Array<[string, number]>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function measureTransitions(maxCycles: number, maxMs: number): { transitions: number; perSec: number; finalState: string } {
  const actor = createActor(connectionMachine, { input: {} });
  actor.start();
  const cycle = () => {
    actor.send({ type: 'LOGIN', uid: 'bench', token: 't' });
    actor.send({ type: 'LINK_UP', sessionExpired: false });
    actor.send({ type: 'LINK_DOWN' });
    actor.send({ type: 'LINK_UP', sessionExpired: false });
    actor.send({ type: 'LOGOUT' });
  };
  for (let i = 0; i < 2_000; i++) cycle(); // warm-up
  let cycles = 0;
  const started = performance.now();
  let elapsed = 0;
  while (cycles < maxCycles && elapsed < maxMs) {
    for (let i = 0; i < 1_000; i++) cycle();
    cycles += 1_000;
    elapsed = performance.now() - started;
  }
  const finalState = JSON.stringify(actor.getSnapshot().value);
  actor.stop();
  const transitions = cycles * 5;
  return { transitions, perSec: (transitions / elapsed) * 1000, finalState };
}

export async function bundleSize(source: string): Promise<{ bytes: number; gzipBytes: number; contents: Array<[string, number]> }> {
  const result = await build({
    stdin: { contents: source, resolveDir: ROOT, sourcefile: 'bench-entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    external: ['ws', 'node:*'],
    logLevel: 'silent',
    metafile: true,
  });
  const code = result.outputFiles[0]!.contents;
  const byOrigin = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const origin = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
      byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + input.bytesInOutput);
    }
  }
  const contents = [...byOrigin].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { bytes: code.byteLength, gzipBytes: gzipSync(code, { level: 9 }).byteLength, contents };
}

export async function runClient(ctx: BenchContext): Promise<ScenarioReport<ClientResult>> {
  const started = performance.now();
  const params = ctx.quick ? { maxCycles: 20_000, maxMs: 1_000 } : { maxCycles: 1_000_000, maxMs: 5_000 };
  const report: ScenarioReport<ClientResult> = { name: 'client', title: 'Client', params, systems: {}, checks: [], durationMs: 0 };

  ctx.log('client: driving connectionMachine in-process');
  const machine = measureTransitions(params.maxCycles, params.maxMs);
  ctx.log(`client: ${Math.round(machine.perSec)} transitions/s`);
  report.checks.push(check('client', machine.transitions > 0 && machine.finalState === '"DISCONNECTED"', `connectionMachine ran ${machine.transitions} transitions, ended ${machine.finalState}`));

  ctx.log('client: bundling src/index.ts and socket.io-client with esbuild');
  const ours = await bundleSize(`export * from './src/index.ts';`);
  const theirs = await bundleSize(`export * from 'socket.io-client';`);
  report.systems.rtm = { transitionsPerSec: Math.round(machine.perSec), transitions: machine.transitions, bundleBytes: ours.bytes, bundleGzipBytes: ours.gzipBytes, bundleContents: ours.contents };
  report.systems.socketio = { bundleBytes: theirs.bytes, bundleGzipBytes: theirs.gzipBytes, bundleContents: theirs.contents };
  report.systems.ws = { bundleBytes: 0, bundleGzipBytes: 0 };
  report.checks.push(check('client', ours.gzipBytes > 0 && theirs.gzipBytes > 0, `bundles built: ours ${ours.gzipBytes} B gz, socket.io-client ${theirs.gzipBytes} B gz`));
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

await runIfMain(import.meta.url, runClient);
