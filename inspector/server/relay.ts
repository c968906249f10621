/**
 * The relay: takes inspection messages from any number of producers and fans them out to every
 * connected page, keeping a bounded history so that a page opened later starts from the
 * current state of every actor.
 *
 * History is one ring of the most recent `historyLimit` messages. Each actor also keeps its
 * registration (`@xstate.actor`, with the definition) and the last snapshot that fell out of
 * the ring, so a late page is sent: every actor as of the start of the ring, then the ring.
 * Pages receive messages in batches, one per tick, so a burst costs one frame per page.
 */
import type { ActorMessage, InspectionMessage, PageFrame } from './messages.js';

export interface Viewer {
  send(frame: PageFrame): void;
}

interface ActorRecord {
  registration: ActorMessage;
  /** The latest snapshot older than everything of this actor still in the ring. */
  baseSnapshot: unknown;
  baseDelays: Record<string, number> | undefined;
  lastSeen: number;
  /** Messages of this actor still in the ring. */
  inRing: number;
}

export interface RelayOptions {
  /** Messages kept for pages opened later (default 10 000). */
  historyLimit?: number;
  /** Actors remembered (default 2 000); the least recently active are forgotten first. */
  actorLimit?: number;
  /** Sent in the hello frame: whether the page shows the demo panel. */
  demo?: boolean;
}

export class Relay {
  readonly historyLimit: number;
  private readonly actorLimit: number;
  private readonly demo: boolean;
  private readonly ring: (InspectionMessage | undefined)[];
  private ringStart = 0;
  private ringSize = 0;
  private readonly actors = new Map<string, ActorRecord>();
  private readonly viewers = new Set<Viewer>();
  private pending: InspectionMessage[] = [];
  /** Which producer first used each actor id, and each producer's renamings. */
  private readonly owners = new Map<string, object>();
  private readonly aliases = new WeakMap<object, Map<string, string>>();
  /** Messages published since the relay started (for tests and diagnostics). */
  receivedCount = 0;
  private flushScheduled = false;

  constructor(options: RelayOptions = {}) {
    this.historyLimit = Math.max(1, Math.floor(options.historyLimit ?? 10_000));
    this.actorLimit = Math.max(1, Math.floor(options.actorLimit ?? 2_000));
    this.demo = options.demo ?? false;
    this.ring = new Array(this.historyLimit);
  }

  /** The messages a page opened now would be sent, in order (for tests and for new viewers). */
  replay(): InspectionMessage[] {
    const out: InspectionMessage[] = [];
    for (const record of this.actors.values()) {
      out.push({ ...record.registration, snapshot: record.baseSnapshot, _delays: record.baseDelays });
    }
    for (let i = 0; i < this.ringSize; i++) {
      const message = this.ring[(this.ringStart + i) % this.historyLimit];
      if (message && message.type !== '@xstate.actor') out.push(message);
    }
    return out;
  }

  get historySize(): number {
    return this.ringSize;
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
    viewer.send({ t: 'hello', now: Date.now(), demo: this.demo, historyLimit: this.historyLimit });
    const items = this.replay();
    // Large histories go out in slices so a single frame stays reasonable.
    for (let i = 0; i < items.length; i += 2_000) viewer.send({ t: 'items', items: items.slice(i, i + 2_000) });
    this.viewers.add(viewer);
    return () => this.viewers.delete(viewer);
  }

  /**
   * Adds a message from `origin` (one producer connection, or the in-process observer). Two
   * producers that use the same actor id (every XState system starts at `x:0`) are kept apart:
   * the first keeps the id, later ones get `x:0~2`, `x:0~3`, …
   */
  publish(message: InspectionMessage, origin?: object): void {
    if (origin) this.qualify(message, origin);
    message._receivedAt = Date.now();
    this.receivedCount++;
    this.remember(message);
    this.pending.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what is pending now (normally done once per tick). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    for (const viewer of this.viewers) viewer.send({ t: 'items', items });
  }

  /** Frees the ids a producer used, so that it keeps them if it reconnects. */
  releaseOrigin(origin: object): void {
    for (const [id, owner] of this.owners) if (owner === origin) this.owners.delete(id);
    this.aliases.delete(origin);
  }

  private aliasFor(origin: object, id: string): string {
    let map = this.aliases.get(origin);
    if (!map) {
      map = new Map();
      this.aliases.set(origin, map);
    }
    let alias = map.get(id);
    if (alias !== undefined) return alias;
    alias = id;
    for (let n = 2; this.owners.has(alias) && this.owners.get(alias) !== origin; n++) alias = `${id}~${n}`;
    this.owners.set(alias, origin);
    map.set(id, alias);
    return alias;
  }

  private qualify(message: InspectionMessage, origin: object): void {
    message.sessionId = this.aliasFor(origin, message.sessionId);
    if (typeof message.rootId === 'string') message.rootId = this.aliasFor(origin, message.rootId);
    if (message.type === '@xstate.actor' && typeof message.parentId === 'string') message.parentId = this.aliasFor(origin, message.parentId);
    if (message.type === '@xstate.event' && typeof message.sourceId === 'string') message.sourceId = this.aliasFor(origin, message.sourceId);
  }

  clear(): void {
    this.ring.fill(undefined);
    this.ringStart = 0;
    this.ringSize = 0;
    this.actors.clear();
    this.pending = [];
  }

  private remember(message: InspectionMessage): void {
    let record = this.actors.get(message.sessionId);
    if (message.type === '@xstate.actor') {
      if (!record) {
        record = { registration: message, baseSnapshot: message.snapshot, baseDelays: message._delays, lastSeen: 0, inRing: 0 };
        this.actors.set(message.sessionId, record);
        this.forgetExcessActors();
      } else {
        record.registration = message;
      }
    } else if (!record) {
      // An actor we never saw registered (its producer connected late): register it by name only.
      record = {
        registration: { type: '@xstate.actor', sessionId: message.sessionId, rootId: message.rootId, name: message.sessionId },
        baseSnapshot: undefined,
        baseDelays: undefined,
        lastSeen: 0,
        inRing: 0,
      };
      this.actors.set(message.sessionId, record);
      this.forgetExcessActors();
    }
    record.lastSeen = message._receivedAt ?? Date.now();
    // Re-insert so that Map order is least-recently-active first.
    this.actors.delete(message.sessionId);
    this.actors.set(message.sessionId, record);
    if (message.type === '@xstate.actor') return;
    if (this.ringSize === this.historyLimit) this.evictOldest();
    this.ring[(this.ringStart + this.ringSize) % this.historyLimit] = message;
    this.ringSize++;
    record.inRing++;
  }

  private evictOldest(): void {
    const oldest = this.ring[this.ringStart];
    this.ring[this.ringStart] = undefined;
    this.ringStart = (this.ringStart + 1) % this.historyLimit;
    this.ringSize--;
    if (!oldest) return;
    const record = this.actors.get(oldest.sessionId);
    if (!record) return;
    record.inRing--;
    if (oldest.type === '@xstate.snapshot') {
      record.baseSnapshot = oldest.snapshot;
      record.baseDelays = oldest._delays ?? record.baseDelays;
    }
  }

  private forgetExcessActors(): void {
    while (this.actors.size > this.actorLimit) {
      const [oldestId] = this.actors.keys();
      if (oldestId === undefined) return;
      this.actors.delete(oldestId);
      this.owners.delete(oldestId);
    }
  }
}
