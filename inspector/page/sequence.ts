/**
 * The sequence view (issue 15.2): the actors around the selected one — its own tree (a client's
 * connection and link) and every actor with the same uid (the server's session) — as lanes
 * side by side, time running down, so one reconnect reads top to bottom. Each lane shows its
 * states as spans, the events it took at the time it took them, a span for a lost link, one
 * for every delayed transition while it was pending (the grace, the presence timer), and
 * arrows for events one lane sent another. Lanes are grouped by a group key: the actor's node
 * when it reports one (`_node`), else its producer, else the server.
 */
import { h, formatTime } from './dom.js';
import { stateValueText, type TransitionView } from './machine-graph.js';
import { producerOf, type ActorView, type SnapshotEntry, type Store } from './store.js';

/** Lanes drawn at most, and steps per lane (the most recent). */
const MAX_LANES = 12;
const MAX_STEPS = 400;
const LANE_WIDTH = 250;
const GUTTER = 92;
const TOP = 46;
const ROW = 22;
/** Pixels per millisecond between two steps, and the longest gap drawn to scale. */
const PX_PER_MS = 0.06;
const MAX_GAP = 120;

/** Spans a lane draws between two events: a lost link, from its loss until it is back or ended. */
const SPAN_RULES = [{ span: 'link-lost', label: 'link lost', starts: ['LINK_DOWN', 'LINK_LOST'], ends: ['LINK_UP', 'RESUMED', 'LOGOUT', 'KICKED', 'REMOTE_LOGIN', 'BANNED'] }] as const;

/** The lane group of an actor: its node, else its producer, else the server's own. */
export function laneGroupOf(actor: ActorView): string {
  if (actor.node) return `node ${actor.node}`;
  const producer = producerOf(actor.sessionId);
  return producer ? `producer ${producer}` : 'server';
}

const uidOf = (actor: ActorView): string | null => {
  const context = actor.snapshots[actor.snapshots.length - 1]?.snapshot.context as { uid?: unknown } | undefined;
  return typeof context?.uid === 'string' ? context.uid : null;
};

/** The lanes for `selected`: charted actors in its tree and those that share a uid with it. */
export function lanesFor(store: Store, selected: ActorView): ActorView[] {
  let root = selected;
  for (let guard = 0; root.parentId && store.actors.has(root.parentId) && guard < 50; guard++) root = store.actors.get(root.parentId)!;
  const inTree = (actor: ActorView): boolean => {
    let current: ActorView | undefined = actor;
    for (let guard = 0; current && guard < 50; guard++) {
      if (current === root) return true;
      current = current.parentId ? store.actors.get(current.parentId) : undefined;
    }
    return false;
  };
  const tree = [...store.actors.values()].filter(inTree);
  const uids = new Set(tree.map(uidOf).filter((u): u is string => u !== null));
  const lanes = [...store.actors.values()].filter((a) => a.graph && (inTree(a) || (uids.size > 0 && uids.has(uidOf(a) ?? '\u0000'))));
  const groups = new Map<string, number>();
  for (const lane of [...lanes].sort((a, b) => a.createdAt - b.createdAt)) if (!groups.has(laneGroupOf(lane))) groups.set(laneGroupOf(lane), groups.size);
  // The selected actor's group first, then by first appearance; within a group, oldest first.
  const selectedGroup = laneGroupOf(selected);
  const rank = (a: ActorView): number => (laneGroupOf(a) === selectedGroup ? -1 : groups.get(laneGroupOf(a))!);
  return lanes.sort((a, b) => rank(a) - rank(b) || a.createdAt - b.createdAt).slice(0, MAX_LANES);
}

const shortEvent = (type: string): string => {
  const delay = /^xstate\.after\.([^.]+)\./.exec(type)?.[1];
  return delay ? `after ${delay}` : type;
};

interface Mark {
  at: number;
  lane: number;
  kind: 'event' | 'message';
  text: string;
  to?: number;
  attrs: Record<string, string>;
  /** The step an event row shows. */
  entry?: SnapshotEntry;
}

export class SequenceView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLElement;
  private readonly caption: HTMLElement;
  private visible = false;

  constructor(private readonly store: Store) {
    this.caption = h('div', { class: 'seq-caption' }, 'Select an actor to see its sequence.');
    this.canvas = h('div', { class: 'seq-canvas' });
    this.element = h('div', { class: 'sequence', 'data-sequence': '', hidden: true }, h('div', { class: 'chart-head seq-head' }, this.caption), h('div', { class: 'seq-scroll' }, this.canvas));
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    this.element.hidden = !visible;
  }

  get isVisible(): boolean {
    return this.visible;
  }

  show(selected: ActorView | null): void {
    if (!this.visible) return;
    if (!selected) {
      this.caption.textContent = 'Select an actor to see its sequence.';
      this.canvas.replaceChildren();
      return;
    }
    const lanes = lanesFor(this.store, selected);
    this.caption.textContent = `sequence around ${selected.name} (${selected.sessionId}): ${lanes.length} lane${lanes.length === 1 ? '' : 's'}, time runs down`;
    this.render(lanes);
  }

  private render(lanes: ActorView[]): void {
    const index = new Map(lanes.map((lane, i) => [lane.sessionId, i]));
    const steps = lanes.map((lane) => lane.snapshots.filter((s) => !s.provisional || lane.snapshots.length === 1).slice(-MAX_STEPS));
    // A timer that fires and changes nothing (a polling timer) would fill the view: its steps are
    // left out, and its pending spans merged (below).
    const shownSteps = steps.map((list) => list.filter((entry, i) => !(i > 0 && entry.event.type.startsWith('xstate.after.') && stateValueText(entry.snapshot.value) === stateValueText(list[i - 1]!.snapshot.value))));
    const marks: Mark[] = [];
    shownSteps.forEach((list, lane) => {
      for (const entry of list) {
        marks.push({ entry, at: entry.at, lane, kind: 'event', text: shortEvent(entry.event.type), attrs: { 'data-seq-event': entry.event.type, 'data-lane': lanes[lane]!.sessionId, 'data-at': String(entry.at), title: `${formatTime(entry.at)} ${entry.event.type} → ${stateValueText(entry.snapshot.value)}` } });
      }
    });
    const first = Math.min(...steps.map((l) => l[0]?.at ?? Infinity));
    for (const m of this.store.messages) {
      const from = index.get(m.from);
      const to = index.get(m.to);
      if (from === undefined || to === undefined || m.at < first) continue;
      marks.push({ at: m.at, lane: from, to, kind: 'message', text: m.type, attrs: { 'data-seq-message': m.type, 'data-from': m.from, 'data-to': m.to, 'data-at': String(m.at) } });
    }
    marks.sort((a, b) => a.at - b.at || (a.kind === 'message' ? -1 : 1));
    if (marks.length === 0) {
      this.canvas.replaceChildren(h('p', { class: 'muted', style: 'padding:12px' }, 'No steps yet.'));
      return;
    }
    // A stretched time axis: each step a row below the last, further for longer gaps (to scale
    // up to MAX_GAP), so that order always reads and durations roughly do.
    const ys: number[] = [];
    let y = TOP;
    marks.forEach((mark, i) => {
      if (i > 0) y += ROW + Math.min(MAX_GAP, Math.max(0, mark.at - marks[i - 1]!.at) * PX_PER_MS);
      ys.push(y);
    });
    const yAt = (at: number): number => {
      // The y of a time: that of the first mark at it, or between the marks around it, in proportion.
      const last = marks.length - 1;
      if (at <= marks[0]!.at) return ys[0]!;
      if (at > marks[last]!.at) return ys[last]! + Math.min(MAX_GAP, (at - marks[last]!.at) * PX_PER_MS);
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (marks[mid]!.at < at) lo = mid + 1;
        else hi = mid;
      }
      const b = marks[lo]!;
      if (b.at === at || lo === 0) return ys[lo]!;
      const a = marks[lo - 1]!;
      return ys[lo - 1]! + ((at - a.at) / (b.at - a.at)) * (ys[lo]! - ys[lo - 1]!);
    };
    // The y of a step's own row: a span that starts or ends at a step lines up with it, not with
    // the first row at the same millisecond (the message that carried its event sits just above).
    const rowOf = new Map<SnapshotEntry, number>();
    marks.forEach((mark, i) => {
      if (mark.entry) rowOf.set(mark.entry, ys[i]!);
    });
    const yOf = (entry: SnapshotEntry): number => rowOf.get(entry) ?? yAt(entry.at);
    const end = Math.max(marks[marks.length - 1]!.at, ...lanes.map((l) => (l.staleSince ?? 0)));
    const bottom = yAt(end) + ROW * 2;
    const x = (lane: number): number => GUTTER + lane * LANE_WIDTH;
    const fragment = document.createDocumentFragment();

    // Group headers and lane headers.
    let groupStart = 0;
    lanes.forEach((lane, i) => {
      const group = laneGroupOf(lane);
      if (i === lanes.length - 1 || laneGroupOf(lanes[i + 1]!) !== group) {
        const el = h('div', { class: 'seq-group', 'data-lane-group': group }, group);
        el.style.left = `${x(groupStart)}px`;
        el.style.width = `${(i - groupStart + 1) * LANE_WIDTH - 6}px`;
        fragment.append(el);
        groupStart = i + 1;
      }
      const head = h('div', { class: 'seq-lane-head', 'data-lane-id': lane.sessionId, 'data-lane-group-key': group, title: lane.sessionId }, h('strong', {}, lane.name), ' ', h('span', { class: 'muted' }, lane.sessionId));
      head.style.left = `${x(i)}px`;
      const line = h('div', { class: 'seq-lifeline' });
      line.style.left = `${x(i) + 14}px`;
      line.style.top = `${TOP - 4}px`;
      line.style.height = `${bottom - TOP}px`;
      fragment.append(head, line);
    });

    // Spans: states, lost links, pending delays.
    steps.forEach((list, lane) => {
      const actor = lanes[lane]!;
      const shown = shownSteps[lane]!;
      shown.forEach((entry, i) => {
        const next = shown[i + 1];
        const until = next?.at ?? end;
        fragment.append(this.span(x(lane) + 4, yAt(entry.at), yAt(until), 'state', stateValueText(entry.snapshot.value), { 'data-span-state': stateValueText(entry.snapshot.value), 'data-lane': actor.sessionId }));
      });
      for (const rule of SPAN_RULES) {
        let start: SnapshotEntry | null = null;
        for (const entry of list) {
          const type = entry.event.type;
          if (!start && (rule.starts as readonly string[]).includes(type)) start = entry;
          else if (start && (rule.ends as readonly string[]).includes(type)) {
            fragment.append(this.span(x(lane) + 160, yOf(start), yOf(entry), 'link-lost', `${rule.label} ${seconds(entry.at - start.at)}`, { 'data-span': rule.span, 'data-lane': actor.sessionId, 'data-from-at': String(start.at), 'data-to-at': String(entry.at) }));
            start = null;
          }
        }
        if (start) fragment.append(this.span(x(lane) + 160, yOf(start), yAt(end), 'link-lost', `${rule.label}…`, { 'data-span': rule.span, 'data-lane': actor.sessionId, 'data-from-at': String(start.at), 'data-open': 'true' }));
      }
      for (const pending of delaySpans(actor, list, end)) {
        fragment.append(this.span(x(lane) + 188 + pending.depth * 26, yAt(pending.from), yAt(pending.to), 'delay', `after ${pending.key}${pending.ms !== null ? ` (${seconds(pending.ms)})` : ''}${pending.repeats > 1 ? ` ×${pending.repeats}` : pending.fired ? ' ✓' : ''}`, { 'data-span': 'delay', 'data-delay': pending.key, 'data-lane': actor.sessionId, 'data-fired': String(pending.fired), 'data-from-at': String(pending.from), 'data-to-at': String(pending.to) }));
      }
    });

    // Events and messages, one row each, with the time in the gutter.
    marks.forEach((mark, i) => {
      const top = ys[i]!;
      const time = h('div', { class: 'seq-time' }, formatTime(mark.at));
      time.style.top = `${top - 8}px`;
      fragment.append(time);
      if (mark.kind === 'event') {
        const el = h('div', { class: 'seq-event', ...mark.attrs }, h('span', { class: 'seq-dot' }), mark.text);
        el.style.left = `${x(mark.lane) + 8}px`;
        el.style.top = `${top - 8}px`;
        fragment.append(el);
      } else {
        const left = Math.min(x(mark.lane), x(mark.to!)) + 14;
        const width = Math.max(24, Math.abs(x(mark.to!) - x(mark.lane)));
        const el = h('div', { class: `seq-message ${mark.to! >= mark.lane ? 'right' : 'left'}`, ...mark.attrs }, h('span', {}, mark.text));
        el.style.left = `${left}px`;
        el.style.width = `${width}px`;
        el.style.top = `${top - 12}px`;
        fragment.append(el);
      }
    });
    this.canvas.style.height = `${bottom}px`;
    this.canvas.style.width = `${GUTTER + lanes.length * LANE_WIDTH + 20}px`;
    this.canvas.replaceChildren(fragment);
  }

  private span(left: number, top: number, bottom: number, kind: string, label: string, attrs: Record<string, string>): HTMLElement {
    const el = h('div', { class: `seq-span ${kind}`, title: label, ...attrs }, h('span', { class: 'seq-span-label' }, label));
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
    el.style.height = `${Math.max(4, bottom - top)}px`;
    return el;
  }
}

const seconds = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`);

interface DelaySpan {
  key: string;
  ms: number | null;
  from: number;
  to: number;
  fired: boolean;
  depth: number;
  /** Times it fired back-to-back into the same state (a periodic timer), merged into one span. */
  repeats: number;
  source: string;
}

/** Every delayed transition while it was pending: from its state's entry until it fired or the state was left. */
function delaySpans(actor: ActorView, list: SnapshotEntry[], end: number): DelaySpan[] {
  if (!actor.graph) return [];
  const delayed = actor.graph.transitions.filter((t): t is TransitionView & { delay: NonNullable<TransitionView['delay']> } => t.delay !== null && t.delay !== undefined);
  const spans: DelaySpan[] = [];
  const open = new Map<string, { from: number; transition: (typeof delayed)[number] }>();
  const keyOf = (t: (typeof delayed)[number]): string => `${t.source.id} ${t.delay.key}`;
  for (const entry of list) {
    for (const [id, pending] of open) {
      const source = pending.transition.source.id;
      const enteredAgain = entry.enteredAt.get(source) !== pending.from;
      if (entry.active.has(source) && !enteredAgain) continue;
      const fired = entry.event.type.startsWith('xstate.after.') && entry.event.type.includes(pending.transition.delay.key);
      spans.push({ key: pending.transition.delay.key, ms: pending.transition.delay.ms ?? entry.delays[pending.transition.delay.key] ?? null, from: pending.from, to: entry.at, fired, depth: 0, repeats: 1, source });
      open.delete(id);
    }
    for (const t of delayed) {
      if (!entry.active.has(t.source.id) || open.has(keyOf(t))) continue;
      open.set(keyOf(t), { from: entry.enteredAt.get(t.source.id) ?? entry.at, transition: t });
    }
  }
  const last = list[list.length - 1];
  for (const pending of open.values()) spans.push({ key: pending.transition.delay.key, ms: pending.transition.delay.ms ?? last?.delays[pending.transition.delay.key] ?? null, from: pending.from, to: end, fired: false, depth: 0, repeats: 1, source: pending.transition.source.id });
  spans.sort((a, b) => a.from - b.from);
  // A timer that fired and started again at once (a polling timer) is one span, counted.
  const merged: DelaySpan[] = [];
  const lastOf = new Map<string, DelaySpan>();
  for (const span of spans) {
    const key = `${span.source} ${span.key}`;
    const before = lastOf.get(key);
    if (before && before.fired && before.to === span.from) {
      before.to = span.to;
      before.fired = span.fired;
      before.repeats++;
      continue;
    }
    lastOf.set(key, span);
    merged.push(span);
  }
  spans.length = 0;
  spans.push(...merged);
  // Spans that overlap in a lane are set side by side.
  const ends: number[] = [];
  for (const span of spans) {
    let depth = ends.findIndex((e) => e <= span.from);
    if (depth < 0) depth = ends.length;
    ends[depth] = span.to;
    span.depth = depth;
  }
  return spans;
}
