/** The fault proxy over plain TCP: each mode does what its name says. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';

let echo: net.Server;
let proxy: FaultProxy;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.close();
  await new Promise((resolve) => echo?.close(resolve));
});

async function setup() {
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port } });
}

function connect(): Promise<{ socket: net.Socket; data: string[]; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    sockets.push(socket);
    const data: string[] = [];
    socket.on('data', (d) => data.push(d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('connect', () => resolve({ socket, data, closed }));
  });
}

async function until(condition: () => boolean) {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('fault proxy', () => {
  it('forwards, then cut closes every connection and new ones pass again', async () => {
    await setup();
    const a = await connect();
    a.socket.write('hello');
    await until(() => a.data.join('') === 'hello');
    proxy.cut();
    await a.closed;
    const b = await connect();
    b.socket.write('again');
    await until(() => b.data.join('') === 'again');
    expect(proxy.acceptedCount).toBe(2);
  });

  it('refuse makes new connections fail with ECONNREFUSED and keeps open ones; blackhole drops bytes both ways; restore closes broken ones', async () => {
    await setup();
    const open = await connect();
    proxy.refuse();
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      socket.on('connect', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
    open.socket.write('still here');
    await until(() => open.data.join('') === 'still here');
    proxy.restore();
    const a = await connect();
    proxy.blackhole();
    a.socket.write('lost');
    const b = await connect();
    b.socket.write('lost too');
    await new Promise((r) => setTimeout(r, 100));
    expect(a.data).toEqual([]);
    expect(b.data).toEqual([]);
    expect(proxy.connectionCount).toBe(3);
    proxy.restore();
    await Promise.all([open.closed, a.closed, b.closed]);
  });

  it('silent accepts and never answers; blackhole toClient lets requests through only', async () => {
    await setup();
    proxy.silent();
    const a = await connect();
    a.socket.write('anyone?');
    await new Promise((r) => setTimeout(r, 100));
    expect(a.data).toEqual([]);
    proxy.restore();
    await a.closed;
    let received = '';
    echo.removeAllListeners('connection');
    echo.on('connection', (socket) => socket.on('data', (d) => (received += d.toString())));
    const b = await connect();
    proxy.blackhole('toClient');
    b.socket.write('request');
    await until(() => received === 'request');
    expect(b.data).toEqual([]);
  });
});
