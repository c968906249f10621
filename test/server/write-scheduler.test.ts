/**
 * The server's write scheduler: queued frames leave in slices of sockets, one slice per event-loop turn,
 * and what is queued between slices joins the sockets not written yet. The sockets here are
 * stand-ins that record what is written to them; fan-out over real sockets is in channel and
 * load tests.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Connection, WriteScheduler } from '../../src/server/connection.js';
import { SharedFrame } from '../../src/server/ws-frame.js';

/** A TCP socket stand-in: keeps every buffer written to it. */
class RecordingSocket extends Duplex {
  readonly writes: Buffer[] = [];
  override write(chunk: unknown): boolean {
    this.writes.push(chunk as Buffer);
    return true;
  }
  override _read(): void {}
}

function connections(writes: WriteScheduler, count: number) {
  return Array.from({ length: count }, () => {
    const socket = new RecordingSocket();
    const ws = { readyState: WebSocket.OPEN } as unknown as WebSocket;
    return { socket, connection: new Connection(ws, socket, writes, () => undefined) };
  });
}

/** The text of the WebSocket frames written: each unmasked text frame's payload. */
function texts(socket: RecordingSocket): string[] {
  return socket.writes.map((frame) => {
    const length = frame[1]! & 0x7f;
    const offset = length === 126 ? 4 : length === 127 ? 10 : 2;
    return frame.subarray(offset).toString('utf8');
  });
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function drained(sockets: RecordingSocket[], expectedWrites: number): Promise<void> {
  for (let i = 0; i < 100 && sockets.reduce((n, s) => n + s.writes.length, 0) < expectedWrites; i++) await turn();
}

describe('write scheduler', () => {
  it('writes the sockets a slice per turn, and a frame queued between slices rides with the first on the sockets not written yet', async () => {
    const writes = new WriteScheduler(0, 4);
    const all = connections(writes, 10);
    const a = new SharedFrame(Buffer.from('{"m":"a"}'));
    const b = new SharedFrame(Buffer.from('{"m":"b"}'));
    for (const { connection } of all) connection.deliver('room', 1, a);
    await turn();
    // One slice written: the first four sockets.
    expect(all.map(({ socket }) => socket.writes.length)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    for (const { connection } of all) connection.deliver('room', 2, b);
    await drained(
      all.map(({ socket }) => socket),
      4 * 2 + 6,
    );
    for (const { socket } of all.slice(0, 4)) expect(texts(socket)).toEqual(['{"m":"a"}', '{"m":"b"}']);
    for (const { socket } of all.slice(4)) expect(texts(socket)).toEqual(['{"m":"a"}\n{"m":"b"}']);
    // The sockets that got both in one message share one joined buffer.
    const joined = all.slice(4).map(({ socket }) => socket.writes[0]);
    expect(new Set(joined).size).toBe(1);
  });

  it('a frame of one socket alone is joined for that socket only, and order on each socket is kept', async () => {
    const writes = new WriteScheduler(0, 2);
    const all = connections(writes, 3);
    const shared = new SharedFrame(Buffer.from('{"m":"s"}'));
    all[0]!.connection.deliver('room', 1, shared);
    all[0]!.connection.sendEncoded(Buffer.from('{"m":"own"}'));
    all[1]!.connection.deliver('room', 1, shared);
    all[2]!.connection.sendEncoded(Buffer.from('{"m":"x"}'));
    all[2]!.connection.deliver('room', 1, shared);
    await drained(
      all.map(({ socket }) => socket),
      3,
    );
    expect(texts(all[0]!.socket)).toEqual(['{"m":"s"}\n{"m":"own"}']);
    expect(texts(all[1]!.socket)).toEqual(['{"m":"s"}']);
    expect(all[1]!.socket.writes[0]).toBe(shared.frame);
    expect(texts(all[2]!.socket)).toEqual(['{"m":"x"}\n{"m":"s"}']);
  });
});

describe('a socket held for an answer', () => {
  it('R6.1 a kick decided while a login is being answered leaves after the answer, not before it (afterAnswer)', async () => {
    const { socket, connection } = connections(new WriteScheduler(0, 4), 1)[0]!;
    connection.hold();
    const order: string[] = [];
    connection.afterAnswer(() => order.push('kick'));
    expect(order).toEqual([]);
    connection.sendFrame({ t: 'res', id: 1, ok: true });
    order.push('answer');
    connection.release(undefined);
    expect(order).toEqual(['answer', 'kick']);
    // Not held: at once.
    connection.afterAnswer(() => order.push('now'));
    expect(order).toEqual(['answer', 'kick', 'now']);
    await drained([socket], 1);
  });
});
