/**
 * Server-to-client WebSocket text frames, built once and written as they are. Server frames are
 * not masked (RFC 6455 §5.1), so the bytes of one frame are the same for every recipient: a
 * channel message is framed once and the same Buffer is written to every member's socket.
 */

/** FIN + opcode 1 (text). */
const FIN_TEXT = 0x81;

export function textFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([FIN_TEXT, length]);
  if (length < 65536) return Buffer.from([FIN_TEXT, 126, length >> 8, length & 0xff]);
  const header = Buffer.alloc(10);
  header[0] = FIN_TEXT;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

export function textFrame(payload: Buffer): Buffer {
  return Buffer.concat([textFrameHeader(payload.length), payload]);
}

let nextSharedFrameId = 1;

/** A payload several sockets will receive, with its frame built once. */
export class SharedFrame {
  readonly frame: Buffer;
  /** Tells shared frames apart when several of them are joined into one message. */
  readonly id = nextSharedFrameId++;
  constructor(readonly payload: Buffer) {
    this.frame = textFrame(payload);
  }
}
