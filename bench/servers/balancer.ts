/**
 * The package's failover balancer (rtm-statechart/testing `createBalancer`) in its own process, in
 * front of the nodes of a cluster (the multi-node storm): each new connection goes to the next
 * node in turn and, when that node refuses (it was killed), to the one after it.
 */
import { announceReady, argValue, serveRequests } from '../lib/ipc.js';
import { builtPackage } from '../lib/package.js';

const { createBalancer } = await builtPackage('/testing');

const targets = argValue('targets')
  .split(',')
  .map((url) => Number(new URL(url).port));
let next = 0;
/** Every node in turn first, the others after it in order. */
const inTurn = () => {
  const first = next++ % targets.length;
  return targets.map((_, k) => targets[(first + k) % targets.length]!);
};
const balancer = await createBalancer(inTurn);

serveRequests({
  connections: () => balancer.connectionCount,
  cpu: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  stop: async () => {
    await balancer.close();
    return true;
  },
});
announceReady({ url: balancer.url, httpUrl: balancer.url.replace(/^ws/, 'http') });
