/**
 * Requests waiting for their answer (R5.5). A request made while the link is down waits here
 * and leaves, in order, once the link is back; one in flight when the link broke is sent again
 * after the resume with the same request and message ids (the server answers a repeated
 * message id without delivering it twice). Each request rejects with TIMEOUT if no answer
 * arrives within `requestTimeoutMs` of the call, and with the given code when the login ends.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import type { ClientFrame, ResponseFrame } from '../protocol/index.js';

/** A client frame that expects a `res`, before its request id is filled in. */
export type RequestFrame = Extract<ClientFrame, { id: number }>;
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;
export type RequestBody = WithoutId<RequestFrame>;

export interface Answer {
  data: unknown;
  /** The request was sent more than once (it was in flight when the link broke). */
  resent: boolean;
}

interface Pending {
  frame: RequestFrame;
  /** Called synchronously with the answer, before the promise settles (see `request`). */
  onAnswer: ((response: ResponseFrame) => void) | undefined;
  resolve(answer: Answer): void;
  reject(error: RtmError): void;
  timer: ReturnType<typeof setTimeout>;
  /** On the current socket. */
  sent: boolean;
  transmissions: number;
}

export class Outbox {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** The link is up and what was queued has been flushed: new requests go straight out. */
  private open = false;

  constructor(
    private readonly transmit: (frame: RequestFrame) => boolean,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Sends `body` now if the link is open, otherwise queues it. `urgent` requests (the session
   * restore of R4.4) go out as soon as a socket is up, ahead of everything queued. `onAnswer`
   * runs as the answer is read, before the frames that follow it in the same WebSocket message:
   * state that those frames depend on (a channel now joined) is set there, not a microtask later.
   */
  request(
    body: RequestBody,
    options: { urgent?: boolean; onAnswer?: (response: ResponseFrame) => void } = {},
  ): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const id = this.nextId++;
      const frame = { ...body, id } as RequestFrame;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RtmError(RtmErrorCode.TIMEOUT, `no answer to ${body.t} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const entry: Pending = { frame, onAnswer: options.onAnswer, resolve, reject, timer, sent: false, transmissions: 0 };
      this.pending.set(id, entry);
      if (this.open || options.urgent) this.send(entry);
    });
  }

  /** The link is up again: send everything not yet on this socket, oldest first. */
  linkUp(): void {
    this.open = true;
    for (const entry of this.pending.values()) if (!entry.sent) this.send(entry);
  }

  /** The socket is gone: whatever was in flight must be sent again. */
  linkDown(): void {
    this.open = false;
    for (const entry of this.pending.values()) entry.sent = false;
  }

  settle(response: ResponseFrame): void {
    const entry = this.pending.get(response.id);
    if (!entry) return; // timed out already, or answered twice
    this.pending.delete(response.id);
    clearTimeout(entry.timer);
    entry.onAnswer?.(response);
    const resent = entry.transmissions > 1;
    if (response.ok) return entry.resolve({ data: response.data, resent });
    const error = new RtmError(response.code, response.message);
    // The caller may need to know (a repeated join answered ALREADY_JOINED succeeded the first time).
    if (resent) Object.defineProperty(error, 'resent', { value: true, enumerable: false });
    entry.reject(error);
  }

  /** The login ended: every waiting request fails with `code`. */
  failAll(code: RtmErrorCode, message: string): void {
    this.open = false;
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(new RtmError(code, message));
    }
  }

  private send(entry: Pending): void {
    if (!this.transmit(entry.frame)) return;
    entry.sent = true;
    entry.transmissions += 1;
  }
}
