/**
 * The files the page needs: its script and the client SDK bundle. From a build (`dist/`) they
 * are read from disk; when the server runs from source (tests, `tsx`), they are bundled in
 * memory with esbuild on first request, so the page always matches the code.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  contentType: string;
}

const here = dirname(fileURLToPath(import.meta.url));

interface Bundle {
  /** Where `npm run build` writes it, relative to this module in dist/inspector/server. */
  built: string;
  /** The entry to bundle when running from source, relative to this module in inspector/server. */
  entry: string;
}

const bundles: Record<'app' | 'sdk', Bundle> = {
  app: { built: '../page/app.js', entry: '../page/main.ts' },
  sdk: { built: '../../browser/rtm-statechart.js', entry: '../../src/index.ts' },
};

const cache = new Map<string, Promise<Asset | null>>();

async function bundleFromSource(entry: string, sourcemap: boolean): Promise<Asset | null> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: '/out',
    sourcemap: sourcemap ? 'external' : false,
    external: ['ws', 'node:*'],
    logLevel: 'silent',
  });
  const file = result.outputFiles.find((f) => f.path.endsWith(sourcemap ? '.js.map' : '.js'));
  return file ? { body: Buffer.from(file.contents), contentType: sourcemap ? 'application/json' : 'text/javascript; charset=utf-8' } : null;
}

/** `name` is 'app' or 'sdk'; `map` asks for the source map. Resolves null when unavailable. */
export function loadAsset(name: 'app' | 'sdk', map = false): Promise<Asset | null> {
  const key = `${name}${map ? '.map' : ''}`;
  let asset = cache.get(key);
  if (!asset) {
    asset = (async () => {
      const bundle = bundles[name];
      const built = resolve(here, bundle.built + (map ? '.map' : ''));
      if (existsSync(built)) {
        return { body: await readFile(built), contentType: map ? 'application/json' : 'text/javascript; charset=utf-8' };
      }
      const entry = resolve(here, bundle.entry);
      if (!existsSync(entry)) return null;
      return bundleFromSource(entry, map);
    })().catch(() => null);
    // A failed build is retried on the next request (the SDK may not exist yet).
    void asset.then((a) => { if (!a) cache.delete(key); });
    cache.set(key, asset);
  }
  return asset;
}
