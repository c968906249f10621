// The browser bundles and esbuild's options for them, shared by build-browser.mjs and the test
// that holds the client bundle to its size (test/client/bundle-size.test.ts).

export const bundles = [
  { entry: 'src/index.ts', outfile: 'dist/browser/rtm-statechart.js' },
  { entry: 'inspector/page/main.ts', outfile: 'dist/inspector/page/app.js' },
];

/** esbuild options for one bundle (write it to `outfile`, or pass `write: false` to measure it). */
export function bundleOptions({ entry, outfile }) {
  return {
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
  };
}
