/**
 * Our server, as an application would run it: createRtmServer with default timing, limits and flushing,
 * the inspector off (it is a development tool; with it on every session actor is also
 * streamed to the inspector relay). With `--redis` it is one node of a cluster sharing that Redis.
 */
import { argValue } from '../lib/ipc.js';
import { builtPackage } from '../lib/package.js';
import { hostServer } from './host.js';

const { createRtmServer } = await builtPackage('/server');

// BENCH_RTM_FLUSH_DELAY_MS=n tries another coalescing window than the server's default (0 on a
// single server: flush at the end of each event-loop turn; CLUSTER_FLUSH_DELAY_MS on a node of a
// cluster). Runs in the committed results use the defaults.
const flushDelay = process.env['BENCH_RTM_FLUSH_DELAY_MS'];
const flushing = flushDelay === undefined ? {} : { flushDelayMs: Number(flushDelay) };

// A node of a cluster (the multi-node scenarios): `--redis URL --secret S --node-id N`.
const redis = argValue('redis', '');
const cluster = redis ? { redis: { url: redis, nodeId: argValue('node-id') }, secret: argValue('secret') } : {};

await hostServer('rtm', async () => {
  const server = await createRtmServer({ port: 0, host: '127.0.0.1', inspector: false, ...flushing, ...cluster });
  return {
    url: server.url,
    connectionCount: () => server.stats().connections,
    close: () => server.close(),
    handlers: {
      tokens: (request: { uids: string[] }) => request.uids.map((uid) => server.createToken(uid)),
      sessions: () => server.stats().sessions,
    },
  };
});
