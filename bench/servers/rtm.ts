/**
 * Our server, as an application would run it: createRtmServer with default timing and limits,
 * the inspector off (it is a development tool; with it on every session actor is also
 * streamed to the inspector relay).
 */
import { createRtmServer } from '../../src/server/index.js';
import { hostServer } from './host.js';

await hostServer('rtm', async () => {
  const server = await createRtmServer({ port: 0, host: '127.0.0.1', inspector: false });
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
