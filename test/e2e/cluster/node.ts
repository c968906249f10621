/**
 * One server node of a test cluster, in a process of its own (so that `kill -9` is real).
 * Configured by one JSON argument: { redisUrl, keyPrefix, secret, port, nodeId, timing, heartbeat }.
 * Prints one line `{"url": …, "port": …}` once listening. Reads commands on stdin, one per
 * line: `ban <uid>`. Exits after SIGTERM closes the server.
 */
import { createInterface } from 'node:readline';
import { createRtmServer } from '../../../src/server/index.js';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  redisUrl: string;
  keyPrefix: string;
  secret: string;
  port?: number;
  nodeId: string;
  timing?: Record<string, number>;
  heartbeat?: { intervalMs: number; timeoutMs: number };
  limits?: Record<string, number>;
};

// The cluster's own events on stderr (a failing test prints them).
const logged = /^(node|bus|session\.(swept|released|adopted|ended_elsewhere))/;
const logger = {
  log(level: string, event: string, fields: Record<string, unknown>) {
    if (logged.test(event) || level === 'error') process.stderr.write(`${JSON.stringify({ t: Date.now(), level, event, ...fields })}\n`);
  },
};

const server = await createRtmServer({
  logger,
  port: config.port ?? 0,
  inspector: false,
  secret: config.secret,
  redis: { url: config.redisUrl, keyPrefix: config.keyPrefix, nodeId: config.nodeId },
  ...(config.timing ? { timing: config.timing } : {}),
  ...(config.heartbeat ? { heartbeat: config.heartbeat } : {}),
  ...(config.limits ? { limits: config.limits } : {}),
});
process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, uid] = line.trim().split(' ');
  if (command === 'ban' && uid) server.ban(uid);
});

process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
