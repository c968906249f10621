// Bundles the browser side after tsc: the client SDK as one ESM file (used by the inspector's
// demo page and measured by the benchmarks) and the inspector page, when its entry exists.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const bundles = [
  { entry: 'src/index.ts', outfile: 'dist/browser/rtm-statechart.js' },
  { entry: 'inspector/page/main.ts', outfile: 'dist/inspector/page/app.js' },
];

for (const { entry, outfile } of bundles) {
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    // The client picks `ws` only under Node; the browser uses the global WebSocket.
    external: ['ws', 'node:*'],
    logLevel: 'warning',
  });
}
