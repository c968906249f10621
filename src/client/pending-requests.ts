/**
 * Requests waiting for their answer (R5.5). A request made while the link is down waits here
 * and leaves, in order, once the link is back; one in flight when the link broke is sent again
 * after the resume with the same request and message ids (the server answers a repeated
 * message id without delivering it twice). Each request rejects with TIMEOUT if no answer
 * arrives within `requestTimeoutMs` of the call, and with the given code when the login ends.
 *
 * What leaves stays inside the server's limits (issue 11, items 2 and 4):
 * - each request is encoded once, at the call, and one whose frame is larger than
 *   MAX_FRAME_BYTES is refused at once (the server would close the socket for it);
 * - at most MAX_IN_FLIGHT_REQUESTS are on a socket unanswered; the rest wait in call order;
 * - sends that waited for the link (and those queued behind them) are released no faster than
 *   the send rate the server announced (see SendPacer), so an outage does not turn a legal rate
 *   into a burst the server refuses. Live sends on an idle link go out at once: a real flood
 *   still meets the server's TOO_OFTEN;
 * - a socket the server closes with 1009 (message too large, a server with a smaller message
 *   limit than the client's) is not answered by re-sending the same batch: the requests that
 *   were on it go out one at a time, and one that meets 1009 alone fails with a typed error.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import { CloseCode, MAX_FRAME_BYTES, MAX_IN_FLIGHT_REQUESTS, type ClientFrame, type ResponseFrame } from '../protocol/client.js';
import { SendPacer } from './send-pacer.js';
import { encodeOutgoing, type EncodedFrame } from './socket.js';

/** A client frame that expects a `res`, before its request id is filled in. */
export type RequestFrame = Extract<ClientFrame, { id: number }>;
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;
export type RequestBody = WithoutId<RequestFrame>;

export interface Answer {
  data: unknown;
  /** The request was sent more than once (it was in flight when the link broke). */
  resent: boolean;
}

interface PendingRequest {
  readonly frame: RequestFrame;
  readonly encoded: EncodedFrame;
  /** A peer or channel send: it counts against the server's send rate. */
  readonly isSend: boolean;
  readonly urgent: boolean;
  /** Called synchronously with the answer, before the promise settles (see `request`). */
  readonly onAnswer: ((response: ResponseFrame) => void) | undefined;
  /** Released only when the pacer allows (it waited for the link, or queued behind sends that did). */
  paced: boolean;
  /** Waiting in the queue, on the current socket, or answered / failed / timed out. */
  state: 'queued' | 'sent' | 'done';
  transmissions: number;
  resolve(answer: Answer): void;
  reject(error: RtmError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The client's outbox (the chart opens it when the link is up and holds it when the link is
 * down): every request without its answer yet, queued or on the current socket.
 */
export class PendingRequests {
  /** Every unsettled request, in call order. */
  private readonly unsettled = new Map<number, PendingRequest>();
  /** Requests not on the current socket, in the order they leave; settled ones are skipped. */
  private queue: PendingRequest[] = [];
  private head = 0;
  /** Requests on the current socket without their answer. */
  private inFlight = 0;
  private nextId = 1;
  /** The link is up and the session restored: the queue may drain. */
  private open = false;
  /**
   * Sends queued now are paced: the link is down, or the backlog it left is still draining.
   * Ends when the queue runs dry on an open link.
   */
  private pacing = true;
  private readonly pacer = new SendPacer();
  private paceTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * After a socket closed with 1009: the requests that were on it. Until each is settled the
   * client sends one request at a time, so that a second 1009 names the one too large.
   */
  private suspects: Set<PendingRequest> | null = null;

  constructor(
    private readonly transmit: (frame: EncodedFrame) => boolean,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.unsettled.size;
  }

  /** The send rate the server announced in its grant (0 = no limit). */
  paceSends(perSecond: number): void {
    this.pacer.configure(perSecond);
  }

  /**
   * Sends `body` as soon as the link is open and its turn comes, otherwise queues it. `urgent`
   * requests (the session restore of R4.4) go out as soon as a socket is up, ahead of everything
   * queued. Rejects at once, before anything is sent, if the encoded frame cannot fit.
   * `onAnswer` runs as the answer is read, before the frames that follow it in the same
   * WebSocket message: state that those frames depend on (a channel now joined) is set there,
   * not a microtask later.
   */
  request(
    body: RequestBody,
    options: { urgent?: boolean; onAnswer?: (response: ResponseFrame) => void } = {},
  ): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const id = this.nextId++;
      const frame = { ...body, id } as RequestFrame;
      const encoded = encodeOutgoing(frame);
      if (encoded.bytes > MAX_FRAME_BYTES) {
        return reject(tooLarge(frame, `its frame is ${encoded.bytes} bytes, more than the ${MAX_FRAME_BYTES} a frame may have`));
      }
      const isSend = frame.t === 'peer.send' || frame.t === 'channel.send';
      const entry: PendingRequest = {
        frame,
        encoded,
        isSend,
        urgent: options.urgent === true,
        onAnswer: options.onAnswer,
        paced: isSend && this.pacing,
        state: 'queued',
        transmissions: 0,
        resolve,
        reject,
        timer: undefined,
      };
      entry.timer = setTimeout(() => this.expire(entry), this.timeoutMs);
      this.unsettled.set(id, entry);
      if (entry.urgent) {
        if (!this.transmitEntry(entry)) this.requeue({ socketLost: false });
        return;
      }
      this.queue.push(entry);
      this.drain();
    });
  }

  /** The link is up again: send what is not yet on this socket, oldest first, within the limits. */
  linkUp(): void {
    this.open = true;
    this.drain();
  }

  /**
   * The socket is gone: whatever was in flight must be sent again, paced like the rest.
   * `closeCode` 1009: the server refused a message as too large (see `suspects`).
   */
  linkDown(closeCode: number = CloseCode.NORMAL): void {
    this.open = false;
    this.pacing = true;
    this.stopPacing();
    if (closeCode === CloseCode.TOO_LARGE) this.blameTooLarge();
    // A send lost with the socket costs the server one token whether it arrived or not: if it
    // did, the re-sent copy (same msgId) is free; if not, the copy pays. The copy is what the
    // pacer counts, so the lost transmission is given back.
    for (const entry of this.unsettled.values()) if (entry.state === 'sent' && entry.isSend) this.pacer.refund();
    this.requeue({ socketLost: true });
  }

  settle(response: ResponseFrame): void {
    const entry = this.unsettled.get(response.id);
    if (!entry) return; // timed out already, or answered twice
    this.finish(entry);
    entry.onAnswer?.(response);
    const resent = entry.transmissions > 1;
    if (response.ok) {
      entry.resolve({ data: response.data, resent });
    } else {
      // The server takes no token for a send it refuses as too often.
      if (entry.isSend && response.code === RtmErrorCode.TOO_OFTEN) this.pacer.refund();
      const error = new RtmError(response.code, response.message);
      // The caller may need to know (a repeated join answered ALREADY_JOINED succeeded the first time).
      if (resent) Object.defineProperty(error, 'resent', { value: true, enumerable: false });
      entry.reject(error);
    }
    this.drain();
  }

  /** The login ended: every waiting request fails with `code`. */
  failAll(code: RtmErrorCode, message: string): void {
    this.open = false;
    this.pacing = true;
    this.stopPacing();
    const entries = [...this.unsettled.values()];
    this.unsettled.clear();
    this.queue = [];
    this.head = 0;
    this.inFlight = 0;
    this.suspects = null;
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.state = 'done';
      entry.reject(new RtmError(code, message));
    }
  }

  /** Sends from the head of the queue while the socket has room and the pacer allows. */
  private drain(): void {
    if (!this.open) return;
    const limit = this.suspects ? 1 : MAX_IN_FLIGHT_REQUESTS;
    const queue = this.queue;
    while (this.head < queue.length && this.inFlight < limit) {
      const entry = queue[this.head]!;
      if (entry.state === 'queued') {
        if (entry.paced) {
          const waitMs = this.pacer.waitMs();
          if (waitMs > 0) return this.resumeDrainIn(waitMs);
        }
        if (!this.transmitEntry(entry)) return;
      }
      this.head += 1;
    }
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
      this.pacing = false;
    } else if (this.head >= 1024 && this.head * 2 >= queue.length) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  private transmitEntry(entry: PendingRequest): boolean {
    if (!this.transmit(entry.encoded)) return false;
    entry.state = 'sent';
    entry.transmissions += 1;
    this.inFlight += 1;
    if (entry.isSend) this.pacer.take();
    return true;
  }

  /**
   * Rebuilds the queue, urgent requests first, then in call order: what waits, and with
   * `socketLost` what was on the socket too (paced when re-sent, like everything queued).
   */
  private requeue({ socketLost }: { socketLost: boolean }): void {
    const urgent: PendingRequest[] = [];
    const rest: PendingRequest[] = [];
    for (const entry of this.unsettled.values()) {
      if (entry.state === 'sent') {
        if (!socketLost) continue;
        entry.state = 'queued';
        entry.paced = entry.isSend;
      }
      (entry.urgent ? urgent : rest).push(entry);
    }
    if (socketLost) this.inFlight = 0;
    this.queue = urgent.concat(rest);
    this.head = 0;
  }

  /**
   * A socket closed with 1009. If it was already sending one request at a time, the
   * request on it is too large for this server: it fails. Otherwise everything that was on the
   * socket becomes a suspect, to be sent again one at a time.
   */
  private blameTooLarge(): void {
    const onSocket = [...this.unsettled.values()].filter((entry) => entry.state === 'sent');
    if (!this.suspects) {
      if (onSocket.length > 0) this.suspects = new Set(onSocket);
      return;
    }
    for (const entry of onSocket) {
      this.finish(entry);
      entry.reject(tooLarge(entry.frame, 'the server closed the link as it arrived (1009: larger than the server accepts)'));
    }
  }

  /** No answer within the deadline (R5.5); never sent afterwards. */
  private expire(entry: PendingRequest): void {
    if (entry.state === 'done') return;
    this.finish(entry);
    entry.reject(new RtmError(RtmErrorCode.TIMEOUT, `no answer to ${entry.frame.t} within ${this.timeoutMs} ms`));
    this.drain();
  }

  /** Takes a request out of the books; the queue skips it if it is still there. */
  private finish(entry: PendingRequest): void {
    this.unsettled.delete(entry.frame.id);
    clearTimeout(entry.timer);
    if (entry.state === 'sent') this.inFlight -= 1;
    entry.state = 'done';
    if (this.suspects?.delete(entry) && this.suspects.size === 0) this.suspects = null;
  }

  private resumeDrainIn(ms: number): void {
    this.paceTimer ??= setTimeout(() => {
      this.paceTimer = null;
      this.drain();
    }, ms);
  }

  private stopPacing(): void {
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.paceTimer = null;
  }
}

/** Text that cannot fit is INVALID_MESSAGE (R8); any other request, INVALID_ARGUMENT. */
function tooLarge(frame: RequestFrame, why: string): RtmError {
  const isText = frame.t === 'peer.send' || frame.t === 'channel.send';
  return new RtmError(
    isText ? RtmErrorCode.INVALID_MESSAGE : RtmErrorCode.INVALID_ARGUMENT,
    `${frame.t} cannot be sent: ${why}`,
  );
}
