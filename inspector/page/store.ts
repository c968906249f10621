/**
 * Everything the page knows, built from the inspection stream: the actors (definition, snapshot
 * history, when each state was entered) and one global event log. Both are bounded so that a
 * long session does not grow the page without limit.
 */
import type { ActorMessage, InspectionMessage, SnapshotMessage } from '../server/messages.js';
import { activeStateIds, parseDefinition, stateValueText, type MachineGraph } from './machine-graph.js';

export const SNAPSHOTS_PER_ACTOR = 2_000;
export const LOG_LIMIT = 50_000;
/** Actors kept by the page; the least recently active are dropped first. */
export const ACTOR_LIMIT = 1_000;
/**
 * Bytes (as the JSON they arrived in) of the snapshots and log entries the page keeps; the
 * oldest go first, but never an actor's latest snapshot (issue 15.6).
 */
export const HISTORY_MAX_BYTES = 64 * 1024 * 1024;

export interface SnapshotEntry {
  /** Position in the global log (for jumping between log and timeline). */
  seq: number;
  at: number;
  event: { type: string; [key: string]: unknown };
  snapshot: Record<string, unknown>;
  active: Set<string>;
  /** When each active state was (last) entered, for countdowns. */
  enteredAt: Map<string, number>;
  delays: Record<string, number>;
  /** Taken from the actor's registration, before any snapshot event; replaced by the first one. */
  provisional?: boolean;
  /** Bytes counted for it in the history bound; 0 once it has left the history. */
  bytes: number;
}

export interface ActorView {
  sessionId: string;
  name: string;
  parentId: string | null;
  createdAt: number;
  definition: string | null;
  graph: MachineGraph | null;
  snapshots: SnapshotEntry[];
  /** Named delays resolved in ms (reported by the producer, or guessed from the context). */
  delays: Record<string, number>;
  eventCount: number;
  /**
   * When the producer that reported this actor disconnected (issue 15.4): what is shown is its
   * last known state, not its current one. Null while its producer is connected.
   */
  staleSince: number | null;
  /** The node that runs it (`_node` of its registration), for grouping; null when not told. */
  node: string | null;
}

/** An event one actor sent another (`sourceId`), drawn as an arrow in the sequence view. */
export interface MessageEntry {
  at: number;
  from: string;
  to: string;
  type: string;
}

/** Events between actors kept for the sequence view; the oldest are dropped first. */
export const MESSAGE_LIMIT = 20_000;

/** The producer label of a remote actor id (`tab-x1/x:0` → `tab-x1`); '' for the server's own. */
export function producerOf(sessionId: string): string {
  const slash = sessionId.indexOf('/');
  return slash > 0 ? sessionId.slice(0, slash) : '';
}

export interface LogEntry {
  seq: number;
  at: number;
  sessionId: string;
  actorName: string;
  eventType: string;
  state: string;
  reason: string;
  context: unknown;
  /** The actor that sent the event, for events logged as they are (actors without a chart). */
  sourceId?: string;
  /** Lower-case text searched by the log filter, built on first search. */
  haystack?: string;
  /** Bytes counted for an entry without a snapshot (an event to an actor without a chart). */
  bytes?: number;
}

/** What the history bound holds, oldest first. */
type Held = { actor: ActorView; snapshot: SnapshotEntry } | { actor: ActorView; log: LogEntry };

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Message time in epoch ms: the producer's stamp when plausible, the relay's otherwise. */
export function messageTime(message: InspectionMessage): number {
  const received = message._receivedAt ?? Date.now();
  const created = Number(message.createdAt);
  return Number.isFinite(created) && created <= received && received - created < 10_000 ? created : received;
}

/**
 * Named delays without a reported value: guessed from the context the way our machines (and
 * many others) keep their timing — `timing.loginTimeoutMs`, `loginTimeoutMs`, `loginTimeout`.
 */
export function guessDelays(graph: MachineGraph | null, context: unknown, known: Record<string, number>): Record<string, number> {
  if (!graph) return known;
  const out = { ...known };
  const ctx = isRecord(context) ? context : {};
  const timing = isRecord(ctx.timing) ? ctx.timing : {};
  const delays = isRecord(ctx.delays) ? ctx.delays : {};
  for (const t of graph.transitions) {
    const key = t.delay && t.delay.ms === null ? t.delay.key : null;
    if (!key || out[key] !== undefined) continue;
    const candidate = [timing[`${key}Ms`], timing[key], ctx[`${key}Ms`], ctx[key], delays[key]].find((v) => typeof v === 'number' && Number.isFinite(v));
    if (typeof candidate === 'number') out[key] = candidate;
  }
  return out;
}

export class Store {
  readonly actors = new Map<string, ActorView>();
  readonly log: LogEntry[] = [];
  readonly messages: MessageEntry[] = [];
  /** Entries dropped from the front of the log so far (seq of log[0] = dropped + first seq). */
  private nextSeq = 1;
  private readonly listeners = new Set<(changed: Set<string>) => void>();
  private changed = new Set<string>();
  private notifyScheduled = false;
  /** Producers that disconnected, by label, with the time they went. */
  private readonly goneProducers = new Map<string, number>();
  /** Messages ingested since the page opened (or the last clear). */
  ingested = 0;
  /** Bytes the snapshots and unchartered log entries hold, against `historyMaxBytes`. */
  historyBytes = 0;
  private held: Held[] = [];
  private heldHead = 0;
  /** Bytes of each message being ingested (an even share of the frame it came in). */
  private itemBytes = 0;

  constructor(readonly historyMaxBytes = HISTORY_MAX_BYTES) {}

  onChange(listener: (changed: Set<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `bytes`: the size of the frame (or file) the items came in, shared among them. */
  ingest(items: InspectionMessage[], bytes?: number): void {
    if (items.length === 0) return;
    this.itemBytes = Math.ceil((bytes ?? safeLength(items)) / items.length);
    this.ingested += items.length;
    for (const item of items) {
      try {
        this.ingestOne(item);
      } catch (error) {
        console.warn('inspector: ignored a message it could not read', item, error);
      }
    }
    if (this.historyBytes > this.historyMaxBytes) this.trimHistory();
    this.scheduleNotify();
  }

  /**
   * Drops the oldest snapshots and log entries until the history fits its bytes again. An
   * actor's latest snapshot stays (it is what the actor list and the chart show), so each
   * actor keeps at least its current state, as the relay's history does.
   */
  private trimHistory(): void {
    let droppedSeq = 0;
    let budget = this.held.length - this.heldHead;
    while (this.historyBytes > this.historyMaxBytes && this.heldHead < this.held.length && budget-- > 0) {
      const item = this.held[this.heldHead++]!;
      if ('snapshot' in item) {
        const { actor, snapshot } = item;
        if (snapshot.bytes === 0) continue;
        const index = actor.snapshots.indexOf(snapshot);
        if (index < 0) {
          this.release(snapshot);
          continue;
        }
        if (index === actor.snapshots.length - 1) {
          this.held.push(item);
          continue;
        }
        actor.snapshots.splice(index, 1);
        droppedSeq = Math.max(droppedSeq, snapshot.seq);
        this.release(snapshot);
        this.changed.add(actor.sessionId);
      } else if (item.log.bytes) {
        droppedSeq = Math.max(droppedSeq, item.log.seq);
        this.release(item.log);
      }
    }
    // Their log rows go with them (the log is in time order, which is almost always seq order).
    let cut = 0;
    while (cut < this.log.length && this.log[cut]!.seq <= droppedSeq) cut++;
    if (cut > 0) {
      this.log.splice(0, cut);
      this.changed.add('log');
    }
    if (this.heldHead > 4_096 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
  }

  private release(entry: { bytes?: number }): void {
    this.historyBytes -= entry.bytes ?? 0;
    entry.bytes = 0;
  }

  /** A producer came or went: its actors are marked stale while it is gone (issue 15.4). */
  setProducer(label: string, connected: boolean, at: number): void {
    if (connected) this.goneProducers.delete(label);
    else this.goneProducers.set(label, at);
    const prefix = `${label}/`;
    for (const actor of this.actors.values()) {
      if (!actor.sessionId.startsWith(prefix)) continue;
      actor.staleSince = connected ? null : at;
      this.changed.add(actor.sessionId);
    }
    this.changed.add('actors');
    this.scheduleNotify();
  }

  /** Empties the event log only; actors keep their snapshots (the log's clear button). */
  clearLog(): void {
    for (const entry of this.log) if (entry.bytes) this.release(entry);
    this.log.length = 0;
    this.changed.add('*');
    this.scheduleNotify();
  }

  clear(): void {
    this.goneProducers.clear();
    this.actors.clear();
    this.log.length = 0;
    this.messages.length = 0;
    this.held = [];
    this.heldHead = 0;
    this.historyBytes = 0;
    this.ingested = 0;
    this.changed.add('*');
    this.scheduleNotify();
  }

  firstSeq(): number {
    return this.log[0]?.seq ?? this.nextSeq;
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled || this.changed.size === 0) return;
    this.notifyScheduled = true;
    requestAnimationFrame(() => {
      this.notifyScheduled = false;
      const changed = this.changed;
      this.changed = new Set();
      for (const listener of this.listeners) listener(changed);
    });
  }

  private actorFor(message: InspectionMessage): ActorView {
    let actor = this.actors.get(message.sessionId);
    if (actor) {
      // Map order is kept least-recently-active first, for the bound below.
      this.actors.delete(message.sessionId);
      this.actors.set(message.sessionId, actor);
    } else {
      actor = {
        sessionId: message.sessionId,
        name: message.sessionId,
        parentId: null,
        createdAt: messageTime(message),
        definition: null,
        graph: null,
        snapshots: [],
        delays: {},
        eventCount: 0,
        staleSince: this.goneProducers.get(producerOf(message.sessionId)) ?? null,
        node: null,
      };
      this.actors.set(message.sessionId, actor);
      this.changed.add('actors');
      if (this.actors.size > ACTOR_LIMIT) {
        const [oldest] = this.actors.keys();
        if (oldest !== undefined) {
          for (const entry of this.actors.get(oldest)?.snapshots ?? []) this.release(entry);
          this.actors.delete(oldest);
        }
      }
    }
    return actor;
  }

  private ingestOne(message: InspectionMessage): void {
    const actor = this.actorFor(message);
    this.changed.add(actor.sessionId);
    if (message.type === '@xstate.actor') return this.register(actor, message);
    if (message.type === '@xstate.event') {
      actor.eventCount++;
      const at = messageTime(message);
      const from = typeof message.sourceId === 'string' && message.sourceId !== message.sessionId ? message.sourceId : undefined;
      // Events to actors without a chart (callbacks, promises) are logged as they are.
      if (!actor.graph) {
        this.holdLog(actor, this.appendLog(actor, at, message.event.type, '', '', undefined, from));
      }
      else if (from) this.addMessage({ at, from, to: actor.sessionId, type: message.event.type });
      return;
    }
    this.addSnapshot(actor, message);
  }

  private register(actor: ActorView, message: ActorMessage): void {
    actor.name = message.name ?? actor.name;
    actor.parentId = message.parentId ?? null;
    const node = (message as { _node?: unknown })._node;
    if (typeof node === 'string' && node) actor.node = node;
    this.changed.add('actors');
    if (message._delays) actor.delays = { ...actor.delays, ...message._delays };
    if (message.definition && message.definition !== actor.definition) {
      try {
        const graph = parseDefinition(message.definition);
        // A definition without states is not a machine (callback, promise, observable actors).
        if (graph.root.children.length > 0) {
          actor.graph = graph;
          actor.definition = message.definition;
          this.recomputeActive(actor, graph);
        }
      } catch {
        actor.graph = null;
      }
    }
    if (actor.snapshots.length === 0 && isRecord(message.snapshot)) {
      this.addSnapshot(actor, { type: '@xstate.snapshot', sessionId: actor.sessionId, event: { type: 'xstate.init' }, snapshot: message.snapshot, createdAt: message.createdAt, _receivedAt: message._receivedAt, _delays: message._delays }, true);
    }
  }

  /** Snapshots that arrived before the definition get their active states now. */
  private recomputeActive(actor: ActorView, graph: MachineGraph): void {
    let previous: SnapshotEntry | undefined;
    for (const entry of actor.snapshots) {
      entry.active = activeStateIds(graph, entry.snapshot.value);
      entry.enteredAt = new Map([...entry.active].map((id) => [id, previous?.active.has(id) ? (previous.enteredAt.get(id) ?? entry.at) : entry.at]));
      previous = entry;
    }
  }

  private addSnapshot(actor: ActorView, message: SnapshotMessage, provisional = false): void {
    const snapshot = isRecord(message.snapshot) ? message.snapshot : {};
    const at = messageTime(message);
    if (actor.snapshots.length === 1 && actor.snapshots[0]?.provisional) this.release(actor.snapshots.pop()!);
    const previous = actor.snapshots[actor.snapshots.length - 1];
    const active = actor.graph ? activeStateIds(actor.graph, snapshot.value) : new Set<string>();
    const enteredAt = new Map<string, number>();
    for (const id of active) enteredAt.set(id, previous?.active.has(id) ? (previous.enteredAt.get(id) ?? at) : at);
    // A delayed transition back into the same state (or a re-entering one) restarts its timers.
    const eventType = message.event?.type ?? '';
    if (previous && eventType.startsWith('xstate.after.') && actor.graph) {
      const fired = eventType.split('.').slice(3).join('.');
      const from = [...actor.graph.nodes.values()].find((n) => n.xstateId === fired)?.id ?? fired;
      for (const id of active) if (id === from || id.startsWith(`${from}.`)) enteredAt.set(id, at);
    }
    if (message._delays) actor.delays = { ...actor.delays, ...message._delays };
    actor.delays = guessDelays(actor.graph, snapshot.context, actor.delays);
    const seq = provisional ? 0 : this.appendLog(actor, at, eventType, stateValueText(snapshot.value), reasonOfStep(snapshot, previous?.snapshot), snapshot.context).seq;
    const entry: SnapshotEntry = { seq, at, event: message.event ?? { type: '' }, snapshot, active, enteredAt, delays: { ...actor.delays }, provisional, bytes: this.itemBytes };
    actor.snapshots.push(entry);
    this.historyBytes += entry.bytes;
    this.held.push({ actor, snapshot: entry });
    if (actor.snapshots.length > SNAPSHOTS_PER_ACTOR + 200) for (const old of actor.snapshots.splice(0, actor.snapshots.length - SNAPSHOTS_PER_ACTOR)) this.release(old);
  }

  private holdLog(actor: ActorView, entry: LogEntry): void {
    entry.bytes = this.itemBytes;
    this.historyBytes += entry.bytes;
    this.held.push({ actor, log: entry });
  }

  private addMessage(entry: MessageEntry): void {
    this.messages.push(entry);
    if (this.messages.length > MESSAGE_LIMIT + 500) this.messages.splice(0, this.messages.length - MESSAGE_LIMIT);
    this.changed.add('messages');
  }

  private appendLog(actor: ActorView, at: number, eventType: string, state: string, reason: string, context: unknown, sourceId?: string): LogEntry {
    const seq = this.nextSeq++;
    const uid = isRecord(context) && typeof context.uid === 'string' ? context.uid : null;
    const entry: LogEntry = { seq, at, sessionId: actor.sessionId, actorName: uid && !actor.name.includes(uid) ? `${actor.name} · ${uid}` : actor.name, eventType, state, reason, context };
    if (sourceId) entry.sourceId = sourceId;
    // In time order (issue 15.4): producers' messages reach the relay later than they were made,
    // by different delays, so a step may belong before the last ones. Almost always it goes at
    // the end; otherwise it is placed by a short walk back from the end.
    let index = this.log.length;
    while (index > 0 && this.log[index - 1]!.at > at) index--;
    if (index === this.log.length) this.log.push(entry);
    else this.log.splice(index, 0, entry);
    // Trimmed in chunks so that a full log does not cost a copy per message.
    if (this.log.length > LOG_LIMIT + 1_000) for (const old of this.log.splice(0, this.log.length - LOG_LIMIT)) if (old.bytes) this.release(old);
    this.changed.add('log');
    return entry;
  }
}

function safeLength(items: InspectionMessage[]): number {
  try {
    return JSON.stringify(items).length;
  } catch {
    return items.length * 256;
  }
}

/** The change reason our machines record in context; other machines usually have none. */
function reasonOf(snapshot: Json | undefined): string {
  const context = snapshot?.context;
  if (!isRecord(context)) return '';
  const reason = context.reason ?? context.endReason;
  return typeof reason === 'string' ? reason : '';
}

/** The top-level state of a snapshot value (`CONNECTED` for `{ CONNECTED: 'linkLost' }`). */
function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  return isRecord(value) ? Object.keys(value).join(',') : '';
}

/**
 * The reason this step recorded, if any (issue 15.4). The reason stays in context until the
 * next change of state, so a step inside a state (`LINK_DOWN` to CONNECTED.linkLost) would
 * otherwise show the reason of the transition before it. A step shows one when the reason
 * changed or the top-level state did.
 */
export function reasonOfStep(snapshot: Json, previous: Json | undefined): string {
  const reason = reasonOf(snapshot);
  if (!reason || !previous) return reason;
  return reason !== reasonOf(previous) || topState(snapshot.value) !== topState(previous.value) ? reason : '';
}
