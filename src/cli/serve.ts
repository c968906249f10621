/**
 * `rtm-statechart serve [--port N] [--host H] [--demo] [--redis URL [--redis-prefix P] [--node-id ID]]`: the RTM server with the inspector on one port.
 * Prints the addresses, then logs one JSON object a line; SIGINT/SIGTERM close it cleanly.
 */
import { parseArgs } from 'node:util';
import { createRtmServer } from '../server/index.js';
import { jsonLineLogger } from '../server/logger.js';
import { isLoopbackHost } from '../server/options.js';

const HELP = `usage: rtm-statechart serve [options]

  --port N              port to listen on (default 8080, 0 = any free port)
  --host H              interface to bind (default 127.0.0.1)
  --no-inspector        do not serve the inspector page and relay
  --inspector-token T   access token for the inspector (required off loopback;
                        also read from RTM_INSPECTOR_TOKEN); never printed
  --inspector-origin O  another origin whose pages may use the inspector
                        (repeatable; default: the page's own origin only)
  --inspector-allowed-host H
                        a host name the inspector answers to besides IP
                        addresses and localhost (repeatable; e.g. behind a proxy)
  --demo                serve the inspector's demo panel and endpoints (demo
                        tokens and bans for uids starting with 'demo-'; off by default)
  --secret S            token signing secret (default: RTM_SECRET or a random one)
  --redis URL           keep sessions, inboxes and history in Redis (also read
                        from RTM_REDIS_URL), shared by every server on it; needs
                        --secret or RTM_SECRET, the same on every server
  --redis-prefix P      put P before every Redis key (also RTM_REDIS_PREFIX;
                        default 'rtm:'): several deployments can share one Redis
  --node-id ID          this node's name in the cluster (also RTM_NODE_ID;
                        letters, digits, - and _; default a random one per start)
  -h, --help            show this help`;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-inspector': { type: 'boolean', default: false },
      'inspector-token': { type: 'string' },
      'inspector-origin': { type: 'string', multiple: true },
      'inspector-allowed-host': { type: 'string', multiple: true },
      demo: { type: 'boolean', default: false },
      secret: { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      'node-id': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0–65535, got '${values.port}'`);
  const inspectorToken = values['inspector-token'] ?? process.env.RTM_INSPECTOR_TOKEN;
  const secret = values.secret ?? process.env.RTM_SECRET;
  const redis = values.redis ?? process.env.RTM_REDIS_URL;
  const keyPrefix = values['redis-prefix'] ?? process.env.RTM_REDIS_PREFIX;
  const nodeId = values['node-id'] ?? process.env.RTM_NODE_ID;
  if (!redis && (keyPrefix || nodeId)) throw new Error('--redis-prefix and --node-id are for a node on Redis: give --redis URL too');
  if (redis && !secret) {
    // State kept in Redis outlives the process; tokens signed with a random secret would not.
    throw new Error('--redis needs --secret S (or RTM_SECRET), the same on every server that shares the Redis');
  }

  if (!values['no-inspector'] && !inspectorToken && !isLoopbackHost(values.host)) {
    throw new Error(`--host ${values.host} is not loopback: give the inspector an access token (--inspector-token T or RTM_INSPECTOR_TOKEN) or use --no-inspector`);
  }
  const server = await createRtmServer({
    port,
    host: values.host,
    inspector: !values['no-inspector'],
    logger: jsonLineLogger(),
    ...(inspectorToken ? { inspectorAccessToken: inspectorToken } : {}),
    ...(values['inspector-origin'] ? { inspectorAllowedOrigins: values['inspector-origin'] } : {}),
    ...(values['inspector-allowed-host'] ? { inspectorAllowedHosts: values['inspector-allowed-host'] } : {}),
    inspectorDemo: values.demo,
    ...(secret ? { secret } : {}),
    ...(redis ? { redis: { url: redis, ...(keyPrefix ? { keyPrefix } : {}), ...(nodeId ? { nodeId } : {}) } } : {}),
  });
  if (!secret) {
    // R11: tokens signed with a secret that dies with the process are refused by the next one;
    // after a restart every client's resume fails INVALID_TOKEN and its login ends.
    console.error(
      'rtm-statechart: warning: no --secret or RTM_SECRET; tokens are signed with a random secret, so after a restart every client must log in again with a new token',
    );
  }
  const httpBase = server.url.replace(/^ws:/, 'http:');
  console.log(`RTM server listening on ${server.url}${redis ? ` (store: Redis at ${redactedUrl(redis)})` : ''}`);
  if (server.inspector) {
    console.log(`Inspector page: ${server.inspector.pageUrl}${inspectorToken ? ' (sign in with the inspector token)' : ''}${values.demo ? ' (demo on)' : ''}`);
  }
  console.log(`Health check: ${httpBase}/healthz`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      console.log(JSON.stringify({ ts: new Date().toISOString(), level: 'info', event: 'server.stopping', signal }));
      server.close().then(resolve, (error: unknown) => {
        console.error(`rtm-statechart: close failed: ${String(error)}`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The URL without its password, for printing. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
