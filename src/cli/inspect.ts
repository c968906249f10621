/**
 * `rtm-statechart inspect [--port N] [--host H] [--token T]`: the inspector relay and page alone,
 * for any XState v5 app that reports with `createWebSocketInspector({ url })` from
 * `@statelyai/inspect`, and with `--xstate-v4 ws://HOST:PORT` for XState v4 apps that run
 * `@xstate/inspect`'s server (issue 14.3). Loopback by default; another host requires an access token (R9).
 */
import { parseArgs } from 'node:util';
import { startInspectorServer, type XStateV4BridgeStatus } from '../../inspector/server/index.js';

const usage = 'usage: rtm-statechart inspect [--port N] [--host H] [--token T] [--history N] [--origin O]... [--allowed-host H]... [--xstate-v4 ws://HOST:PORT]...';

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
      'xstate-v4': { type: 'string', multiple: true },
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
    ...(values['xstate-v4']
      ? {
          xstateV4: values['xstate-v4'].map((url) => {
            // Each change of the link to a v4 app goes to stderr, refusals with their code; a
            // retry that fails the same way as the last one is not repeated.
            let last = '';
            return {
              url,
              onStatus: (status: XStateV4BridgeStatus) => {
                if (status.state === 'connecting') return;
                const why = status.error ? ` (${status.error.code}: ${status.error.message})` : status.reason ? ` (${status.reason})` : '';
                const line = `xstate v4 ${url}: ${status.state}${why}`;
                if (line !== last) console.error(line);
                last = line;
              },
            };
          }),
        }
      : {}),
  });
  // The token is never printed: pages sign in with it, producers send it as a header.
  console.log(`inspector page:  ${server.pageUrl}${accessToken ? '   (sign in with the access token)' : ''}`);
  console.log(`inspector relay: ${server.relayUrl}   (createWebSocketInspector({ url }) from @statelyai/inspect${accessToken ? '; createRelayReporter({ url, token })' : ''})`);
  for (const bridge of server.inspector.xstateV4Bridges) console.log(`xstate v4 app:   ${bridge.url}   (@xstate/inspect server; actors labelled ${bridge.label}/)`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
