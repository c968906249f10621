/** The page's link to the relay (`/inspector/live`), re-opened with backoff when it drops. */
import type { PageFrame } from '../server/messages.js';

export interface LiveStatus {
  connected: boolean;
  /** Relay clock minus page clock, from the last hello. */
  clockOffset: number;
}

/** Sends a frame to the relay over the live socket; false while it is not open. */
export type LiveSender = (frame: unknown) => boolean;

export function connectLive(onFrame: (frame: PageFrame, bytes: number) => void, onStatus: (status: LiveStatus) => void): LiveSender {
  const url = new URL('/inspector/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // With an access token, the HttpOnly cookie the page was served with authenticates the socket.
  let attempt = 0;
  let clockOffset = 0;
  let current: WebSocket | null = null;
  const open = (): void => {
    const ws = new WebSocket(url);
    current = ws;
    ws.onmessage = (message) => {
      const text = String(message.data);
      const frame = JSON.parse(text) as PageFrame;
      const arrived = Date.now();
      if (frame.t === 'hello') {
        attempt = 0;
        clockOffset = frame.now - arrived;
        onStatus({ connected: true, clockOffset });
      } else if (frame.t === 'items') {
        // Every stamp reached us later than it was made, so each one bounds the offset from
        // below; the largest is the closest estimate (a busy moment only ever lowers it).
        const last = frame.items[frame.items.length - 1]?._receivedAt;
        if (last !== undefined && last - arrived > clockOffset) {
          clockOffset = last - arrived;
          onStatus({ connected: true, clockOffset });
        }
      }
      onFrame(frame, text.length);
    };
    ws.onclose = () => {
      onStatus({ connected: false, clockOffset });
      const delay = Math.min(5000, 250 * 2 ** attempt++);
      setTimeout(open, delay);
    };
  };
  open();
  return (frame) => {
    if (!current || current.readyState !== WebSocket.OPEN) return false;
    current.send(JSON.stringify(frame));
    return true;
  };
}
