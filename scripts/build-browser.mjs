// Bundles the browser side after tsc: the client SDK as one ESM file (used by the inspector's
// demo page and measured by the benchmarks) and the inspector page, when its entry exists.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { bundleOptions, bundles } from './browser-bundles.mjs';

for (const bundle of bundles) {
  if (existsSync(bundle.entry)) await build(bundleOptions(bundle));
}
