/**
 * The relay: takes inspection messages from any number of producers and fans them out to every
 * connected page, keeping a bounded history so that a page opened later starts from the
 * current state of every actor.
 *
 * History is a queue of the most recent messages, bounded by count (`historyLimit`) and by
 * bytes, in total (`historyMaxBytes`) and per remote producer (`producerHistoryMaxBytes`), so
 * that no producer can fill the process nor push the others out (issue 12.5). Each actor also
 * keeps its registration (`@xstate.actor`, with the definition) and the last snapshot that fell
 * out of the queue, so a late page is sent: every actor as of the start of the queue, then the
 * queue. Those records count towards the byte bounds too.
 *
 * Remote producers never choose the ids the pages see: the relay puts each connection's label
 * in front of every id and name it reports (`p3/x:0`), so none can pose as the server's own
 * actors (`session:alice`, reported in-process) or as another producer (issue 12).
 * Pages receive messages in batches, one per tick, so a burst costs one frame per page.
 */
import type { ActorMessage, InspectionMessage, PageFrame } from './messages.js';
import { jsonTextTooDeep, sanitizeJson } from './sanitize.js';
import type { ProducerCommand, SendRequest, SendResult } from './send-event.js';

export interface Viewer {
  send(frame: PageFrame): void;
}

export interface RelayOptions {
  /** Messages kept for pages opened later (default 10 000). */
  historyLimit?: number;
  /** Bytes (as JSON) the history and the actors' records may hold in all (default 64 MiB). */
  historyMaxBytes?: number;
  /** Bytes one remote producer's messages and actors may hold of that (default 16 MiB). */
  producerHistoryMaxBytes?: number;
  /** Largest single message, as JSON (default 1 MiB); a producer sending more is closed. */
  maxMessageBytes?: number;
  /** Deepest nesting of a producer's message, its definition counted apart (default 64). */
  maxDepth?: number;
  /** Actors remembered (default 2 000); the least recently active are forgotten first. */
  actorLimit?: number;
  /** Sent in the hello frame: whether the page shows the demo panel. */
  demo?: boolean;
}

export const defaultRelayLimits = Object.freeze({
  historyLimit: 10_000,
  historyMaxBytes: 64 * 1024 * 1024,
  producerHistoryMaxBytes: 16 * 1024 * 1024,
  maxMessageBytes: 1024 * 1024,
  maxDepth: 64,
  actorLimit: 2_000,
});

/** Why a producer's message was refused; the connection is then closed with `closeCode`. */
export type PublishResult = { ok: true } | { ok: false; closeCode: 1008 | 1009; reason: string };

/** One producer connection (or the in-process observer) as the relay accounts for it. */
interface Source {
  /** '' for the in-process observer, whose ids are shown as they are. */
  readonly label: string;
  bytes: number;
  /** This source's messages in the history, oldest first (evicted ones are skipped). */
  queue: Entry[];
  queueHead: number;
  connected: boolean;
  /** When its connection closed (its actors are stale until it reconnects). */
  goneAt?: number | undefined;
  /** How to pass an event back to it, when it said it takes them (issue 15.1). */
  returnPath?: ((command: ProducerCommand) => void) | undefined;
}

interface Entry {
  message: InspectionMessage | undefined;
  bytes: number;
  source: Source;
}

interface ActorRecord {
  registration: ActorMessage;
  registrationBytes: number;
  /** The latest snapshot older than everything of this actor still in the history. */
  baseSnapshot: unknown;
  baseSnapshotBytes: number;
  baseDelays: Record<string, number> | undefined;
  lastSeen: number;
  source: Source;
}

/** A remote producer's handle: everything it reports goes through `publish`. */
export interface ProducerHandle {
  /** The prefix of every id and name it reports (`p3`, or the label it asked for). */
  readonly label: string;
  /** Checks, redacts and stores a decoded message; a refusal says how to close the producer. */
  publish(message: InspectionMessage): PublishResult;
  /** The connection is gone; its label is free again (a reconnect keeps its ids). */
  release(): void;
}

const LABEL = /^[A-Za-z0-9_-]{1,40}$/;

export class Relay {
  readonly historyLimit: number;
  readonly historyMaxBytes: number;
  readonly producerHistoryMaxBytes: number;
  readonly maxMessageBytes: number;
  readonly maxDepth: number;
  private readonly actorLimit: number;
  private readonly demo: boolean;
  private history: Entry[] = [];
  private historyHead = 0;
  private liveEntries = 0;
  private totalBytes = 0;
  private readonly actors = new Map<string, ActorRecord>();
  private readonly viewers = new Set<Viewer>();
  private pending: InspectionMessage[] = [];
  private readonly inProcess: Source = { label: '', bytes: 0, queue: [], queueHead: 0, connected: true };
  private readonly sources = new Map<string, Source>();
  private nextLabel = 1;
  /** Told to pages in the hello frame: whether they may send events to in-process actors. */
  serverEvents = false;
  /** Messages published since the relay started (for tests and diagnostics). */
  receivedCount = 0;
  /** Messages refused (too deep, too large, unserialisable) since the relay started. */
  refusedCount = 0;
  private flushScheduled = false;

  constructor(options: RelayOptions = {}) {
    const limit = (value: number | undefined, fallback: number) => Math.max(1, Math.floor(value ?? fallback));
    this.historyLimit = limit(options.historyLimit, defaultRelayLimits.historyLimit);
    this.historyMaxBytes = limit(options.historyMaxBytes, defaultRelayLimits.historyMaxBytes);
    this.producerHistoryMaxBytes = Math.min(this.historyMaxBytes, limit(options.producerHistoryMaxBytes, defaultRelayLimits.producerHistoryMaxBytes));
    this.maxMessageBytes = limit(options.maxMessageBytes, defaultRelayLimits.maxMessageBytes);
    this.maxDepth = limit(options.maxDepth, defaultRelayLimits.maxDepth);
    this.actorLimit = limit(options.actorLimit, defaultRelayLimits.actorLimit);
    this.demo = options.demo ?? false;
  }

  /** The messages a page opened now would be sent, in order (for tests and for new viewers). */
  replay(): InspectionMessage[] {
    const out: InspectionMessage[] = [];
    for (const record of this.actors.values()) {
      out.push({ ...record.registration, snapshot: record.baseSnapshot, _delays: record.baseDelays });
    }
    for (let i = this.historyHead; i < this.history.length; i++) {
      const message = this.history[i]!.message;
      if (message) out.push(message);
    }
    return out;
  }

  /** Messages in the history (not counting the actors' records). */
  get historySize(): number {
    return this.liveEntries;
  }

  /** Bytes the history and the actors' records hold, as JSON. */
  get historyBytes(): number {
    return this.totalBytes;
  }

  /** Bytes held for the producer with this label (the in-process observer is ''). */
  producerBytes(label: string): number {
    return label === '' ? this.inProcess.bytes : (this.sources.get(label)?.bytes ?? 0);
  }

  get actorCount(): number {
    return this.actors.size;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  addViewer(viewer: Viewer): () => void {
    // What is published but not yet flushed is already in the history: send it to the current
    // viewers now, so the new one does not get it twice (once replayed, once flushed).
    this.flush();
    const deliver = (frame: PageFrame): void => {
      try {
        viewer.send(frame);
      } catch {
        // A viewer that cannot take a frame is its own problem, never the relay's.
      }
    };
    deliver({ t: 'hello', now: Date.now(), demo: this.demo, historyLimit: this.historyLimit, serverEvents: this.serverEvents });
    const items = this.replay();
    // Large histories go out in slices so a single frame stays reasonable.
    for (let i = 0; i < items.length; i += 2_000) deliver({ t: 'items', items: items.slice(i, i + 2_000) });
    for (const frame of this.goneProducerFrames()) deliver(frame);
    this.viewers.add(viewer);
    return () => this.viewers.delete(viewer);
  }

  /**
   * Adds a message from the in-process observer (already converted by convert.ts, which
   * redacts and bounds depth). Its ids are shown as they are. A message over the size bound
   * is kept with its bulky parts replaced by a note, so the step still shows.
   */
  publish(message: InspectionMessage): PublishResult {
    let bytes = jsonBytes(message);
    if (bytes === undefined || bytes > this.maxMessageBytes) {
      slim(message, bytes);
      bytes = jsonBytes(message);
      if (bytes === undefined || bytes > this.maxMessageBytes) return this.refuse(1009, 'message too large');
    }
    this.store(message, bytes, this.inProcess);
    return { ok: true };
  }

  /**
   * A remote producer connection. It may ask for a label (the page's tab name) so that a
   * reconnect keeps its ids; a label in use by a connected producer, or malformed, is replaced
   * by the next free `pN`.
   */
  addProducer(requestedLabel?: string, returnPath?: (command: ProducerCommand) => void): ProducerHandle {
    let label = requestedLabel !== undefined && LABEL.test(requestedLabel) && !this.sources.get(requestedLabel)?.connected ? requestedLabel : undefined;
    while (label === undefined || this.sources.get(label)?.connected) label = `p${this.nextLabel++}`;
    let source = this.sources.get(label);
    if (!source) {
      source = { label, bytes: 0, queue: [], queueHead: 0, connected: true };
      this.sources.set(label, source);
    }
    const reconnected = !source.connected && source.bytes > 0;
    source.connected = true;
    source.goneAt = undefined;
    source.returnPath = returnPath;
    const owner = source;
    if (reconnected) this.announceProducer(owner);
    return {
      label,
      publish: (message) => this.publishRemote(message, owner),
      release: () => {
        owner.connected = false;
        owner.goneAt = Date.now();
        owner.returnPath = undefined;
        if (owner.bytes === 0) this.sources.delete(owner.label);
        else this.announceProducer(owner);
      },
    };
  }

  /** Sends what is pending now (normally done once per tick). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    for (const viewer of this.viewers) {
      try {
        viewer.send({ t: 'items', items });
      } catch {
        // See addViewer: one viewer's failure stays with it.
      }
    }
  }

  /**
   * Where an event a page asks to send goes (issue 15.1): 'in-process' for the server's own
   * actors (the caller decides whether remote control is allowed), otherwise it is passed to
   * the producer that reported the actor, if that producer takes events back.
   */
  routeEvent(request: SendRequest): SendResult | 'in-process' {
    const record = this.actors.get(request.sessionId);
    if (!record) return { ok: false, code: 'UNKNOWN_ACTOR', message: `no actor '${request.sessionId}'` };
    const source = record.source;
    if (source === this.inProcess) return 'in-process';
    if (!source.connected) return { ok: false, code: 'PRODUCER_GONE', message: `the producer '${source.label}' is disconnected` };
    if (!source.returnPath) {
      return { ok: false, code: 'NO_RETURN_PATH', message: `the producer '${source.label}' speaks the @statelyai/inspect protocol, which has no way to send events back to its actors` };
    }
    try {
      source.returnPath({ t: 'send', sessionId: request.sessionId.slice(source.label.length + 1), event: request.event });
    } catch {
      return { ok: false, code: 'PRODUCER_GONE', message: `the producer '${source.label}' could not be reached` };
    }
    return { ok: true };
  }

  /** Labels of producers that are gone while the relay still shows their actors (issue 15.4). */
  goneProducers(): string[] {
    return [...this.sources.values()].filter((s) => !s.connected && s.bytes > 0).map((s) => s.label);
  }

  /**
   * Tells every page that a producer came or went. What it sent before is flushed first, so a
   * page never sees an actor stale and then one of its earlier messages.
   */
  private announceProducer(source: Source): void {
    this.flush();
    const frame: PageFrame = { t: 'producer', label: source.label, connected: source.connected, at: source.goneAt ?? Date.now() };
    for (const viewer of this.viewers) {
      try {
        viewer.send(frame);
      } catch {
        // See addViewer: one viewer's failure stays with it.
      }
    }
  }

  private goneProducerFrames(): PageFrame[] {
    const frames: PageFrame[] = [];
    for (const source of this.sources.values()) {
      if (!source.connected && source.bytes > 0) frames.push({ t: 'producer', label: source.label, connected: false, at: source.goneAt ?? Date.now() });
    }
    return frames;
  }

  clear(): void {
    this.history = [];
    this.historyHead = 0;
    this.liveEntries = 0;
    this.totalBytes = 0;
    this.actors.clear();
    this.pending = [];
    this.inProcess.bytes = 0;
    this.inProcess.queue = [];
    this.inProcess.queueHead = 0;
    this.sources.clear();
  }

  private publishRemote(message: InspectionMessage, source: Source): PublishResult {
    // Depth first: nothing below may walk the value recursively before it is known to be shallow.
    const checked = sanitizeJson(message, this.maxDepth);
    if (!checked.ok) return this.refuse(1008, `inspection message ${checked.reason}`);
    let bytes = jsonBytes(message);
    if (bytes === undefined) return this.refuse(1008, 'inspection message is not serialisable');
    if (bytes > this.maxMessageBytes) return this.refuse(1009, `inspection message over ${this.maxMessageBytes} bytes`);
    if (message.type === '@xstate.actor' && typeof message.definition === 'string') {
      const definition = this.sanitizeDefinition(message.definition);
      if (!definition.ok) return definition;
      message.definition = definition.json;
      bytes = jsonBytes(message) ?? bytes;
    }
    this.qualify(message, source.label);
    this.store(message, bytes, source);
    return { ok: true };
  }

  private sanitizeDefinition(text: string): { ok: true; json: string | undefined } | { ok: false; closeCode: 1008; reason: string } {
    if (jsonTextTooDeep(text, this.maxDepth)) {
      this.refusedCount++;
      return { ok: false, closeCode: 1008, reason: `machine definition nested deeper than ${this.maxDepth} levels` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: true, json: undefined }; // Not a definition the page could draw: the actor is listed without a chart.
    }
    const checked = sanitizeJson(parsed, this.maxDepth);
    if (!checked.ok) {
      this.refusedCount++;
      return { ok: false, closeCode: 1008, reason: `machine definition ${checked.reason}` };
    }
    return { ok: true, json: JSON.stringify(parsed) };
  }

  private refuse(closeCode: 1008 | 1009, reason: string): PublishResult {
    this.refusedCount++;
    return { ok: false, closeCode, reason };
  }

  /** Remote ids and names carry the producer's label, so they never equal the server's own. */
  private qualify(message: InspectionMessage, label: string): void {
    const q = (id: string) => `${label}/${id}`;
    message.sessionId = q(message.sessionId);
    if (typeof message.rootId === 'string') message.rootId = q(message.rootId);
    else delete message.rootId;
    if (message.type === '@xstate.actor') {
      if (typeof message.parentId === 'string') message.parentId = q(message.parentId);
      else delete message.parentId;
      message.name = q(typeof message.name === 'string' ? message.name : message.sessionId.slice(label.length + 1));
    }
    if (message.type === '@xstate.event') {
      if (typeof message.sourceId === 'string') message.sourceId = q(message.sourceId);
      else delete message.sourceId;
    }
  }

  private store(message: InspectionMessage, bytes: number, source: Source): void {
    message._receivedAt = Date.now();
    this.receivedCount++;
    this.remember(message, bytes, source);
    this.pending.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private remember(message: InspectionMessage, bytes: number, source: Source): void {
    let record = this.actors.get(message.sessionId);
    if (record && record.source !== source) {
      // Only reachable for the in-process namespace, which no remote producer can enter.
      this.forget(message.sessionId, record);
      record = undefined;
    }
    if (message.type === '@xstate.actor') {
      if (!record) {
        record = { registration: message, registrationBytes: 0, baseSnapshot: message.snapshot, baseSnapshotBytes: 0, baseDelays: message._delays, lastSeen: 0, source };
        this.actors.set(message.sessionId, record);
      } else {
        record.registration = message;
      }
      this.account(source, bytes - record.registrationBytes);
      record.registrationBytes = bytes;
    } else if (!record) {
      // An actor we never saw registered (its producer connected late): register it by name only.
      record = {
        registration: { type: '@xstate.actor', sessionId: message.sessionId, rootId: message.rootId, name: message.sessionId },
        registrationBytes: 0,
        baseSnapshot: undefined,
        baseSnapshotBytes: 0,
        baseDelays: undefined,
        lastSeen: 0,
        source,
      };
      this.actors.set(message.sessionId, record);
    }
    record.lastSeen = message._receivedAt ?? Date.now();
    // Re-insert so that Map order is least-recently-active first.
    this.actors.delete(message.sessionId);
    this.actors.set(message.sessionId, record);
    if (message.type !== '@xstate.actor') {
      const entry: Entry = { message, bytes, source };
      this.history.push(entry);
      source.queue.push(entry);
      this.liveEntries++;
      this.account(source, bytes);
    }
    this.enforceBounds(source, message.sessionId);
  }

  private account(source: Source, delta: number): void {
    source.bytes += delta;
    this.totalBytes += delta;
  }

  private enforceBounds(source: Source, current: string): void {
    while (this.actors.size > this.actorLimit) if (!this.forgetOldestActor(undefined, current)) break;
    while (this.liveEntries > this.historyLimit) if (!this.evictOldest()) break;
    if (source !== this.inProcess) {
      while (source.bytes > this.producerHistoryMaxBytes) {
        if (!this.evictOldestOf(source) && !this.forgetOldestActor(source, current)) break;
      }
    }
    while (this.totalBytes > this.historyMaxBytes) {
      if (!this.evictOldest() && !this.forgetOldestActor(undefined, current)) break;
    }
    this.compact(source);
  }

  private evictOldest(): boolean {
    while (this.historyHead < this.history.length) {
      const entry = this.history[this.historyHead++]!;
      if (entry.message) {
        this.evict(entry);
        return true;
      }
    }
    return false;
  }

  private evictOldestOf(source: Source): boolean {
    while (source.queueHead < source.queue.length) {
      const entry = source.queue[source.queueHead++]!;
      if (entry.message) {
        this.evict(entry);
        return true;
      }
    }
    return false;
  }

  /** Drops an entry from the history; a snapshot becomes its actor's base snapshot. */
  private evict(entry: Entry): void {
    const message = entry.message!;
    entry.message = undefined;
    this.liveEntries--;
    this.account(entry.source, -entry.bytes);
    const record = this.actors.get(message.sessionId);
    if (!record || record.source !== entry.source || message.type !== '@xstate.snapshot') return;
    record.baseSnapshot = message.snapshot;
    record.baseDelays = message._delays ?? record.baseDelays;
    this.account(entry.source, entry.bytes - record.baseSnapshotBytes);
    record.baseSnapshotBytes = entry.bytes;
  }

  /** Forgets the least recently active actor (of `source`, when given), never `current`. */
  private forgetOldestActor(source: Source | undefined, current: string): boolean {
    for (const [id, record] of this.actors) {
      if (id === current || (source && record.source !== source)) continue;
      this.forget(id, record);
      return true;
    }
    return false;
  }

  private forget(id: string, record: ActorRecord): void {
    this.actors.delete(id);
    this.account(record.source, -(record.registrationBytes + record.baseSnapshotBytes));
    if (!record.source.connected && record.source.bytes === 0 && record.source !== this.inProcess) this.sources.delete(record.source.label);
  }

  /** Drops the evicted entries at the head of the queues once they are a large part of them. */
  private compact(source: Source): void {
    if (this.historyHead > 1024 && this.historyHead * 2 > this.history.length) {
      this.history = this.history.slice(this.historyHead);
      this.historyHead = 0;
    }
    while (source.queueHead < source.queue.length && !source.queue[source.queueHead]!.message) source.queueHead++;
    if (source.queueHead > 1024 && source.queueHead * 2 > source.queue.length) {
      source.queue = source.queue.slice(source.queueHead);
      source.queueHead = 0;
    }
  }
}

/** Size of a message as the pages receive it; undefined when it cannot be serialised. */
function jsonBytes(message: InspectionMessage): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(message));
  } catch {
    return undefined;
  }
}

/** Replaces the bulky parts of an oversized in-process message by a note of its size. */
function slim(message: InspectionMessage, bytes: number | undefined): void {
  const note = bytes === undefined ? '[omitted: not serialisable]' : `[omitted: ${bytes} bytes]`;
  if (message.type === '@xstate.actor') delete message.definition;
  if ('snapshot' in message && message.snapshot && typeof message.snapshot === 'object') {
    const { value, status } = message.snapshot as { value?: unknown; status?: unknown };
    message.snapshot = { value: typeof value === 'string' ? value : note, status, context: note };
  }
  if (message.type !== '@xstate.actor') message.event = { type: typeof message.event?.type === 'string' ? message.event.type : '' , note };
}
