/** The WebSocket a Node client dials with when none is given: `ws`, loaded once, offering no compression. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { resolveWebSocket } from '../../src/client/socket.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe('Node WebSocket for the client', () => {
  it('is loaded once, asks for the RTM subprotocol and offers no permessage-deflate (the server never accepts it)', async () => {
    const Ctor = await resolveWebSocket();
    expect(await resolveWebSocket()).toBe(Ctor);
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false, handleProtocols: () => SUBPROTOCOL });
    closers.push(() => {
      wss.close();
      http.close();
    });
    const upgrade = new Promise<IncomingMessage>((resolve) => wss.on('connection', (_ws, request) => resolve(request)));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const socket = new Ctor(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, SUBPROTOCOL);
    socket.onerror = () => undefined;
    await new Promise<void>((resolve) => {
      socket.onopen = () => resolve();
    });
    closers.unshift(() => socket.close());
    const request = await upgrade;
    expect(request.headers['sec-websocket-protocol']).toBe(SUBPROTOCOL);
    expect(request.headers['sec-websocket-extensions']).toBeUndefined();
  });
});
