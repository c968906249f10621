/**
 * Issue 16: the client's browser bundle stays at most 32 KB gzipped. It is built here exactly as
 * `npm run build` builds dist/browser/rtm-statechart.js (the same entry and esbuild options), and
 * it carries no zod: the client reads server frames with the protocol's own checks.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs build script, without types
import { bundleOptions, bundles } from '../../scripts/browser-bundles.mjs';

const MAX_GZIPPED_BYTES = 32_000;

describe('issue 16 client bundle', () => {
  it('16 the browser bundle of the client is at most 32 KB gzipped and has no zod in it', async () => {
    const client = (bundles as Array<{ entry: string; outfile: string }>).find((b) => b.entry === 'src/index.ts')!;
    const result = await build({ ...bundleOptions(client), write: false, sourcemap: false, metafile: true });
    const code = result.outputFiles!.find((file) => file.path.endsWith('.js'))!.contents;
    const gzipped = gzipSync(code).length;
    expect(gzipped).toBeGreaterThan(10_000); // it is the real bundle
    expect(gzipped).toBeLessThanOrEqual(MAX_GZIPPED_BYTES);
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.filter((path) => path.includes('node_modules/zod'))).toEqual([]);
    expect(inputs).not.toContain('src/protocol/frames.ts');
  }, 30_000);
});
