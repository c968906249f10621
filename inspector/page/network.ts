/**
 * A WebSocket for demo clients whose network can be cut and restored from the page. Cutting
 * black-holes the link as a pulled cable would: nothing in, nothing out, no close event, so
 * the client has to notice through its heartbeat. While cut, new connections fail at once
 * (network unreachable). "Drop" closes the link abruptly instead (as a reset would).
 */
import type { WebSocketConstructor, WebSocketLike } from '../../src/index.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export class DemoNetwork {
  private cut = false;
  private readonly sockets = new Set<CuttableSocket>();
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    const network = this;
    this.WebSocket = class extends CuttableSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(network, url, protocols);
      }
    };
  }

  get isCut(): boolean {
    return this.cut;
  }

  setCut(cut: boolean): void {
    this.cut = cut;
  }

  /** Closes every live link abruptly (code 1006), as a connection reset would. */
  drop(): void {
    for (const socket of [...this.sockets]) socket.abort();
  }

  track(socket: CuttableSocket): void {
    this.sockets.add(socket);
  }

  untrack(socket: CuttableSocket): void {
    this.sockets.delete(socket);
  }
}

class CuttableSocket implements WebSocketLike {
  readyState = CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private readonly real: WebSocket | null;
  private finished = false;

  constructor(private readonly network: DemoNetwork, url: string, protocols?: string | string[]) {
    if (network.isCut) {
      this.real = null;
      setTimeout(() => this.finish(1006, 'network unreachable'), 30);
      return;
    }
    const real = new WebSocket(url, protocols);
    this.real = real;
    network.track(this);
    real.onopen = (event) => {
      if (this.network.isCut || this.finished) return;
      this.readyState = OPEN;
      this.onopen?.(event);
    };
    real.onmessage = (event) => {
      if (!this.network.isCut && !this.finished) this.onmessage?.({ data: event.data });
    };
    real.onerror = (event) => {
      if (!this.network.isCut && !this.finished) this.onerror?.(event);
    };
    real.onclose = (event) => {
      // A close that happens behind a cut cable is noticed by nobody on this side.
      if (this.network.isCut) return;
      this.finish(event.code, event.reason);
    };
  }

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error('WebSocket is not open');
    if (this.network.isCut) return; // lost on the way
    this.real?.send(data);
  }

  close(code?: number, reason?: string): void {
    if (this.finished) return;
    this.readyState = 2;
    try {
      this.real?.close(code, reason);
    } catch {
      this.real?.close();
    }
    // With the cable cut no close handshake can complete: report the close ourselves.
    if (this.network.isCut || !this.real) setTimeout(() => this.finish(1006, 'closed while the network was cut'), 0);
  }

  abort(): void {
    try {
      this.real?.close(4000, 'dropped by the demo');
    } catch {
      // already closing
    }
    this.finish(1006, 'connection reset');
  }

  private finish(code: number, reason?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.readyState = CLOSED;
    this.network.untrack(this);
    this.onclose?.({ code, reason });
  }
}
