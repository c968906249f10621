/**
 * A load process for the reconnect storm: real clients, as an application runs them.
 * - ours: RtmClient (connection machine, link actor with heartbeat, backoff, resume and
 *   replay), logged in and joined to one channel;
 * - Socket.IO: socket.io-client with its defaults (reconnection on, connection state
 *   recovery negotiated by the server), WebSocket transport;
 * - bare ws: a `ws` socket that re-dials like ours inside the grace period (at once, then
 *   every 250–500 ms) and does nothing else: no login, no heartbeat, no replay. Its clients
 *   are "back" when their socket is open again; it shows what the dials alone cost a process.
 * Every client records which channel messages it received (by key) and when; after the
 * outage the parent names how many messages had been sent before the restore, and each
 * client notes the moment it holds all of them while connected.
 */
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../src/index.js';
import { announceReady, serveRequests } from '../lib/ipc.js';
import { builtPackage } from '../lib/package.js';
import { readPayload, wallClockMs } from './payload.js';

const current = await builtPackage('');
const { WS_CLIENT_OPTIONS } = current;
type ClientPackage = Pick<typeof current, 'RtmClient' | 'ConnectionState'>;
/** The client build under test: this checkout's, or a baseline's (`--baseline-client`) to compare with. */
let clientPackage: ClientPackage = current;

export interface StormOpenRequest {
  system: 'rtm' | 'socketio' | 'ws';
  /** The fault proxy's URL (ws:// for ours and bare ws, http:// for Socket.IO). */
  url: string;
  channel: string;
  clients: Array<{ uid: string; token?: string }>;
  keySpace: number;
  concurrency: number;
  /** Ours: the RtmClient of another build (a baseline checkout's dist/src/index.js) instead of this one's. */
  clientModule?: string;
}

export interface StormStats {
  clients: number;
  connected: number;
  /** Clients holding every message sent before the restore. */
  caughtUp: number;
  /** ms from the restore to each caught-up client's moment, sorted. */
  catchUpMs: number[];
  /** ms from the restore to each client's link being up again (before its replay arrived), sorted. */
  linkUpMs: number[];
  /** Ours: ms from the restore to the dial that succeeded, and to its socket being open, sorted. */
  dialMs: number[];
  openMs: number[];
  /** Ours: on that socket, ms from the restore to its first frame sent (the resume) and first frame received (its answer), sorted. */
  helloMs: number[];
  answerMs: number[];
  /** Ours: WebSocket dials since the outage began (failed ones included), summed over clients. */
  dialsSinceOutage: number;
  /**
   * Per client, messages with key < sentTotal never received and not reported lost by a
   * `Recovered` event (silently lost), summed.
   */
  lost: number;
  /** Per client, messages never received that a `Recovered` event reported lost, summed. */
  reportedLost: number;
  /** Clients that were told of at least one lost message. */
  clientsReportedLoss: number;
  /** Ours: `Recovered` events since the outage began, and the clients that had at least one. */
  recoveries: number;
  clientsRecovered: number;
  /** Ours: why the reported channel replays were cut short (REPLAY_CAP, …), counted per report. */
  lossReasons: Record<string, number>;
  duplicates: number;
  historical: number;
  stateChanges: Record<string, number>;
  /** The same, counted from the outage on. */
  stateChangesSinceOutage: Record<string, number>;
  loginRetries: number;
  /** This process's heap in use now, bytes. */
  heapUsedBytes: number;
  /** This process's CPU since it started, µs. */
  cpuMicros: number;
  /** This process's CPU from the cut to the restore (refused dials, closes), µs. */
  outageCpuMicros: number;
  /** Clients that had not reported a recovery yet (still reconnecting): their gaps are not counted as silent losses. */
  unrecovered: number;
}

interface Tracked {
  received: Uint8Array;
  /** How many keys below `mustHave` this client holds. */
  haveBelowTarget: number;
  /**
   * How many channel messages the client's `Recovered` events said were lost (R11.1): the oldest
   * of each gap (R5.3 keeps the most recent), so they are counted against the oldest missing keys.
   * Infinity when a report could not know (a new epoch).
   */
  reportedLost: number;
  /** `Recovered` events since the outage began. */
  recoveries: number;
  caughtUpAt: number;
  /** When the link last came up again after being lost (0: never lost). */
  linkUpAt: number;
  /** When the last dial started, when its socket opened, sent its first frame and received its first. */
  dialAt: number;
  openAt: number;
  helloAt: number;
  answerAt: number;
  isConnected(): boolean;
  close(): Promise<void> | void;
}

const tracked: Tracked[] = [];
let mustHave = Number.POSITIVE_INFINITY;
let restoreAtMs = 0;
let duplicates = 0;
let loginRetries = 0;
let historical = 0;
let dials = 0;
let dialsAtOutage = 0;
let outageBegun = false;
let system: StormOpenRequest['system'] = 'rtm';
let cpuAtOutage = 0;
let cpuAtRestore = 0;
const lossReasons: Record<string, number> = {};
const stateChanges: Record<string, number> = {};
let stateChangesAtOutage: Record<string, number> = {};

function noteCaughtUp(t: Tracked): void {
  if (t.caughtUpAt !== 0 || !t.isConnected()) return;
  // Bare ws has no replay: it is back once its socket is open again after the restore.
  if (system === 'ws') {
    if (restoreAtMs > 0 && t.linkUpAt >= restoreAtMs) t.caughtUpAt = wallClockMs();
    return;
  }
  // Caught up: connected, and every message sent before the restore is held or was reported lost.
  if (t.haveBelowTarget + t.reportedLost >= mustHave) t.caughtUpAt = wallClockMs();
}

function onMessage(t: Tracked, text: string, isHistorical: boolean): void {
  const payload = readPayload(text);
  if (!payload || payload.key >= t.received.length) return;
  if (isHistorical) historical++;
  if (t.received[payload.key]) {
    duplicates++;
    return;
  }
  t.received[payload.key] = 1;
  if (payload.key < mustHave) {
    t.haveBelowTarget++;
    noteCaughtUp(t);
  }
}

/** A new client's record, nothing received yet, added to `tracked`. */
function track(keySpace: number, connection: Pick<Tracked, 'isConnected' | 'close'>): Tracked {
  const t: Tracked = {
    received: new Uint8Array(keySpace),
    haveBelowTarget: 0,
    reportedLost: 0,
    recoveries: 0,
    caughtUpAt: 0,
    linkUpAt: 0,
    dialAt: 0,
    openAt: 0,
    helloAt: 0,
    answerAt: 0,
    ...connection,
  };
  tracked.push(t);
  return t;
}

async function openRtm(request: StormOpenRequest, spec: { uid: string; token?: string }): Promise<void> {
  const index = tracked.length;
  const { RtmClient, ConnectionState } = clientPackage;
  const t = track(request.keySpace, {
    isConnected: () => client.connectionState === ConnectionState.CONNECTED,
    close: () => client.logout().catch(() => undefined),
  });
  // The client's URL names its record, so that the one TimedWebSocket class can note its dials.
  const url = new URL(request.url);
  url.searchParams.set(CLIENT_PARAM, String(index));
  const client = new RtmClient({ url: url.toString(), WebSocket: TimedWebSocket as unknown as WebSocketConstructor });
  // The link going down and up inside CONNECTED changes no public state: read it off the machine.
  let linkLost = false;
  client.actor.subscribe((snapshot) => {
    const lost = snapshot.matches({ CONNECTED: 'linkLost' }) || snapshot.matches('RECONNECTING');
    if (linkLost && !lost && snapshot.matches('CONNECTED')) t.linkUpAt = wallClockMs();
    linkLost = lost;
  });
  client.on('ConnectionStateChanged', (state, reason) => {
    const key = `${state}/${reason}`;
    stateChanges[key] = (stateChanges[key] ?? 0) + 1;
    noteCaughtUp(t);
  });
  // A login that times out while the server is busy is retried, as an application would.
  for (let attempt = 1; ; attempt++) {
    try {
      await client.login({ uid: spec.uid, token: spec.token ?? '' });
      break;
    } catch (error) {
      loginRetries++;
      if (attempt >= 3) throw error;
    }
  }
  // What each reconnect recovered (R11.1): a loss it reports is not a silent one.
  client.on('Recovered', (report) => {
    if (!outageBegun) return;
    t.recoveries++;
    for (const ch of report.channels) {
      if (ch.channelId !== request.channel || ch.complete) continue;
      t.reportedLost += ch.lost ?? Number.POSITIVE_INFINITY;
      lossReasons[ch.reason ?? 'unknown'] = (lossReasons[ch.reason ?? 'unknown'] ?? 0) + 1;
    }
    noteCaughtUp(t);
  });
  const channel = client.createChannel(request.channel);
  channel.on('ChannelMessage', (message, _memberId, props) => onMessage(t, message.text, props.isHistoricalMessage));
  await channel.join();
}

async function openSocketIo(request: StormOpenRequest, spec: { uid: string }): Promise<void> {
  const socket: Socket = io(request.url, { transports: ['websocket'], auth: { uid: spec.uid, room: request.channel } });
  const t = track(request.keySpace, {
    isConnected: () => socket.connected,
    close: () => {
      socket.disconnect();
    },
  });
  // Socket.IO marks no message as replayed, so none is counted as historical.
  socket.on('msg', (m: { text: string }) => onMessage(t, m.text, false));
  socket.on('connect', () => {
    const key = socket.recovered ? 'connect/recovered' : 'connect/new';
    if (restoreAtMs > 0) t.linkUpAt = wallClockMs();
    stateChanges[key] = (stateChanges[key] ?? 0) + 1;
    noteCaughtUp(t);
  });
  socket.on('disconnect', (reason) => {
    stateChanges[`disconnect/${reason}`] = (stateChanges[`disconnect/${reason}`] ?? 0) + 1;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket.io connect ${spec.uid} timed out`)), 20_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The floor: a bare `ws` socket re-dialled as ours re-dials inside the grace period. */
async function openBareWs(request: StormOpenRequest, spec: { uid: string }): Promise<void> {
  let socket: WebSocket | null = null;
  let closing = false;
  let failures = 0;
  const t = track(request.keySpace, {
    isConnected: () => socket?.readyState === WebSocket.OPEN,
    close: () => {
      closing = true;
      socket?.terminate();
    },
  });
  const url = `${request.url}/?uid=${encodeURIComponent(spec.uid)}`;
  const dial = (opened?: () => void) => {
    t.dialAt = wallClockMs();
    dials++;
    const ws = new WebSocket(url, WS_CLIENT_OPTIONS);
    socket = ws;
    ws.on('error', () => undefined);
    ws.on('open', () => {
      failures = 0;
      t.openAt = t.linkUpAt = wallClockMs();
      opened?.();
      noteCaughtUp(t);
    });
    ws.on('message', (data: Buffer) => onMessage(t, data.toString(), false));
    ws.on('close', () => {
      if (closing || socket !== ws) return;
      failures++;
      // As ours inside the grace period: the first re-dial at once, then 250–500 ms apart.
      setTimeout(() => dial(), failures === 1 ? 0 : 250 + Math.random() * 250);
    });
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare ws connect ${spec.uid} timed out`)), 20_000);
    dial(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function openAll(request: StormOpenRequest): Promise<{ opened: number; failed: number; firstError?: string }> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  system = request.system;
  if (request.clientModule) clientPackage = (await import(request.clientModule)) as ClientPackage;
  const opener = async () => {
    while (next < request.clients.length) {
      const spec = request.clients[next++]!;
      try {
        if (request.system === 'rtm') await openRtm(request, spec);
        else if (request.system === 'ws') await openBareWs(request, spec);
        else await openSocketIo(request, spec);
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, opener));
  return { opened: request.clients.length - failed, failed, ...(firstError ? { firstError } : {}) };
}

const CLIENT_PARAM = 'storm-client';

/**
 * `ws` as our clients dial with it, noting when each dial starts and when its socket opens (the
 * last dial of a client is the one that worked). One class for every client, so that ws's own
 * code sees one shape of socket; the client is found from the URL the RtmClient was given.
 */
class TimedWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    // The options the client itself dials `ws` with, so that the harness measures its dial.
    super(url, protocols, WS_CLIENT_OPTIONS);
    const t = tracked[Number(new URL(url).searchParams.get(CLIENT_PARAM))];
    if (!t) return;
    t.dialAt = wallClockMs();
    t.helloAt = 0;
    t.answerAt = 0;
    dials++;
    this.tracked = t;
    this.once('open', () => (t.openAt = wallClockMs()));
    this.once('message', () => (t.answerAt = wallClockMs()));
  }

  private tracked: Tracked | undefined;

  override send(data: Parameters<WebSocket['send']>[0], ...rest: unknown[]): void {
    if (this.tracked && this.tracked.helloAt === 0) this.tracked.helloAt = wallClockMs();
    (super.send as (data: unknown, ...rest: unknown[]) => void)(data, ...rest);
  }
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** For each client whose `at` is after the restore: how long after, sorted. */
function sinceRestore(at: (t: Tracked) => number): number[] {
  return tracked.filter((t) => at(t) >= restoreAtMs).map((t) => at(t) - restoreAtMs).sort((a, b) => a - b);
}

serveRequests({
  open: (request: StormOpenRequest) => openAll(request),
  /** The outage begins now: dials are counted from here. */
  outage: () => {
    dialsAtOutage = dials;
    stateChangesAtOutage = { ...stateChanges };
    outageBegun = true;
    cpuAtOutage = cpuMicros();
    return true;
  },
  /** After the restore: the first `count` keys must be held; the restore happened at `atMs`. */
  target: (request: { count: number; atMs: number }) => {
    mustHave = request.count;
    restoreAtMs = request.atMs;
    cpuAtRestore = cpuMicros();
    for (const t of tracked) {
      t.haveBelowTarget = 0;
      for (let k = 0; k < Math.min(mustHave, t.received.length); k++) t.haveBelowTarget += t.received[k]!;
      noteCaughtUp(t);
    }
    return true;
  },
  stats: (request: { sentTotal: number }): StormStats => {
    let lost = 0;
    let reportedLost = 0;
    let clientsReportedLoss = 0;
    let unrecovered = 0;
    for (const t of tracked) {
      noteCaughtUp(t);
      let missing = 0;
      for (let k = 0; k < Math.min(request.sentTotal, t.received.length); k++) if (!t.received[k]) missing++;
      // Ours: a client that has not come back yet has not had its say (nor its replay); it is
      // counted as not caught up, and what it misses is not called silent.
      if (system === 'rtm' && outageBegun && t.recoveries === 0) {
        unrecovered++;
        continue;
      }
      const reported = Math.min(missing, t.reportedLost);
      lost += missing - reported;
      reportedLost += reported;
      if (t.reportedLost > 0) clientsReportedLoss++;
    }
    const done = tracked.filter((t) => t.caughtUpAt > 0);
    return {
      clients: tracked.length,
      connected: tracked.filter((t) => t.isConnected()).length,
      caughtUp: done.length,
      catchUpMs: done.map((t) => Math.max(0, t.caughtUpAt - restoreAtMs)).sort((a, b) => a - b),
      linkUpMs: sinceRestore((t) => t.linkUpAt),
      dialMs: sinceRestore((t) => t.dialAt),
      openMs: sinceRestore((t) => t.openAt),
      helloMs: sinceRestore((t) => t.helloAt),
      answerMs: sinceRestore((t) => t.answerAt),
      dialsSinceOutage: dials - dialsAtOutage,
      lost,
      reportedLost,
      clientsReportedLoss,
      recoveries: tracked.reduce((n, t) => n + t.recoveries, 0),
      clientsRecovered: tracked.filter((t) => t.recoveries > 0).length,
      lossReasons,
      duplicates,
      historical,
      stateChanges,
      stateChangesSinceOutage: Object.fromEntries(
        Object.entries(stateChanges)
          .map(([k, v]) => [k, v - (stateChangesAtOutage[k] ?? 0)] as const)
          .filter(([, v]) => v > 0),
      ),
      loginRetries,
      cpuMicros: cpuMicros(),
      outageCpuMicros: cpuAtRestore - cpuAtOutage,
      unrecovered,
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
  },
  stop: async () => {
    await Promise.race([Promise.all(tracked.map((t) => t.close())), new Promise((r) => setTimeout(r, 3000))]);
    return true;
  },
});
announceReady();
