/**
 * `rtm-statechart inspect [--port N] [--host H] [--token T]`: the inspector relay and page alone,
 * for any XState v5 app that reports with `createWebSocketInspector({ url })` from
 * `@statelyai/inspect`. Loopback by default; another host requires an access token (R9).
 */
import { parseArgs } from 'node:util';
import { startInspectorServer } from '../../inspector/server/index.js';

const usage = 'usage: rtm-statechart inspect [--port N] [--host H] [--token T] [--history N] [--origin O]... [--allowed-host H]...';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '4242' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string' },
      history: { type: 'string' },
      origin: { type: 'string', multiple: true },
      'allowed-host': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0–65535, got '${values.port}'\n${usage}`);
  const historyLimit = values.history === undefined ? undefined : Number(values.history);
  if (historyLimit !== undefined && (!Number.isInteger(historyLimit) || historyLimit < 1)) throw new Error(`--history must be a positive integer\n${usage}`);
  const accessToken = values.token ?? process.env.RTM_INSPECTOR_TOKEN;
  const server = await startInspectorServer({
    port,
    host: values.host,
    accessToken,
    historyLimit,
    ...(values.origin ? { allowedOrigins: values.origin } : {}),
    ...(values['allowed-host'] ? { allowedHosts: values['allowed-host'] } : {}),
  });
  // The token is never printed: pages sign in with it, producers send it as a header.
  console.log(`inspector page:  ${server.pageUrl}${accessToken ? '   (sign in with the access token)' : ''}`);
  console.log(`inspector relay: ${server.relayUrl}   (createWebSocketInspector({ url }) from @statelyai/inspect${accessToken ? '; createRelayReporter({ url, token })' : ''})`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
