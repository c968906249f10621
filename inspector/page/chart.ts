/**
 * Draws the selected machine: state boxes (HTML, so they carry `data-state-id` and
 * `data-active`), transition arrows (SVG) with their labels, the transition just taken
 * animated, and a live countdown (`data-delay`) on every pending delayed transition.
 */
import { h, svg } from './dom.js';
import { pendingDelays, remainingText } from './delays.js';
import { layoutGraph, type ChartLayout, type EdgeLayout } from './layout.js';
import { delayLabel, type TransitionView } from './machine-graph.js';
import type { ActorView, SnapshotEntry } from './store.js';

const TAKEN_MS = 1600;
/** The smallest zoom "fit" picks: 11.5 px edge labels stay ≥ 10.5 px, state names ≥ 12 px. */
export const READABLE_ZOOM = 0.92;
const MAX_FIT_ZOOM = 1.5;

export class ChartView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLElement;
  private readonly edgesSvg: SVGSVGElement;
  private readonly caption: HTMLElement;
  private actor: ActorView | null = null;
  private layoutKey = '';
  private layout: ChartLayout | null = null;
  private layoutRun = 0;
  private stateEls = new Map<string, HTMLElement>();
  private edgeEls = new Map<string, { path: SVGPathElement; label: HTMLElement | null; layout: EdgeLayout }>();
  /** Transition id → the id of the arrow that draws it. */
  private edgeOf = new Map<string, string>();
  private countdowns = new Map<string, HTMLElement>();
  private shown: { entry: SnapshotEntry; live: boolean } | null = null;
  private zoom = 1;
  /** Whether the zoom is the fitted one (kept fitted when the pane is resized). */
  private zoomFitted = false;
  private readonly scroll: HTMLElement;
  private readonly panHint: HTMLElement;
  private takenTimer: ReturnType<typeof setTimeout> | undefined;
  private applied: SnapshotEntry | null = null;
  private fittedFor: string | null = null;
  private layoutReady = false;
  private request: { entry: SnapshotEntry | null; previous: SnapshotEntry | null; live: boolean; animate: boolean } = { entry: null, previous: null, live: true, animate: false };

  /** `clock` gives the relay's time (the page's clock corrected by the measured offset). */
  constructor(private readonly clock: () => number = Date.now) {
    this.caption = h('div', { class: 'chart-caption' }, 'Select an actor to see its chart.');
    this.edgesSvg = svg('svg', { class: 'chart-edges' });
    const defs = svg('defs');
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
    defs.append(marker);
    this.edgesSvg.append(defs);
    this.canvas = h('div', { class: 'chart-canvas' });
    const zoomBar = h(
      'div',
      { class: 'zoom-bar' },
      h('button', { type: 'button', title: 'Zoom out', 'data-zoom': 'out', onclick: () => this.setZoom(this.zoom / 1.2) }, '−'),
      h('button', { type: 'button', title: 'Fit (text stays readable; drag to see the rest)', 'data-zoom': 'fit', onclick: () => this.fit() }, 'fit'),
      h('button', { type: 'button', title: 'Zoom in', 'data-zoom': 'in', onclick: () => this.setZoom(this.zoom * 1.2) }, '+'),
    );
    this.panHint = h('div', { class: 'pan-hint', 'aria-hidden': 'true' }, 'drag or scroll to pan');
    this.scroll = h('div', { class: 'chart-scroll' }, this.canvas);
    this.enablePanning(this.scroll);
    // The zoom buttons sit in the caption bar, beside the title, never over it (issue 15.5).
    this.element = h('div', { class: 'chart' }, h('div', { class: 'chart-head' }, this.caption, zoomBar), this.scroll, this.panHint);
    new ResizeObserver(() => {
      if (this.zoomFitted) this.fit();
      else this.updateOverflow();
    }).observe(this.scroll);
  }

  /** Drag the chart to pan it (issue 15.5); buttons and labels keep their clicks. */
  private enablePanning(scroll: HTMLElement): void {
    let drag: { x: number; y: number; left: number; top: number; id: number } | null = null;
    scroll.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || (e.target as HTMLElement).closest('button, a, input')) return;
      drag = { x: e.clientX, y: e.clientY, left: scroll.scrollLeft, top: scroll.scrollTop, id: e.pointerId };
      scroll.setAttribute('data-panning', 'true');
    });
    scroll.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      scroll.scrollLeft = drag.left - (e.clientX - drag.x);
      scroll.scrollTop = drag.top - (e.clientY - drag.y);
    });
    const end = (): void => {
      drag = null;
      scroll.removeAttribute('data-panning');
    };
    scroll.addEventListener('pointerup', end);
    scroll.addEventListener('pointercancel', end);
    scroll.addEventListener('pointerleave', end);
  }

  /** Shows the pan hint while part of the chart is outside its pane. */
  private updateOverflow(): void {
    const s = this.scroll;
    const overflow = s.scrollWidth > s.clientWidth + 2 || s.scrollHeight > s.clientHeight + 2;
    s.setAttribute('data-overflow', String(overflow));
  }

  /**
   * Shows `actor` at `entry`; `live` entries count down against the clock. Layout is
   * asynchronous: calls made meanwhile only record what to show, and the latest one is applied
   * once the layout is drawn, so a burst of snapshots never leaves a stale highlight.
   */
  async show(actor: ActorView | null, entry: SnapshotEntry | null, previous: SnapshotEntry | null, live: boolean, animate: boolean): Promise<void> {
    this.request = { entry, previous, live, animate };
    if (actor !== this.actor) this.applied = null;
    this.actor = actor;
    if (!actor || !actor.graph) {
      this.clear(actor ? `${actor.name} (${actor.sessionId}) has no statechart definition.` : 'Select an actor to see its chart.');
      return;
    }
    const labelFor = (t: TransitionView): string => (t.delay ? delayLabel(t.delay, t.delay.ms ?? actor.delays[t.delay.key]) : t.event);
    const key = `${actor.sessionId}\n${actor.definition}\n${actor.graph.transitions.map(labelFor).join('|')}`;
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.layoutReady = false;
      const run = ++this.layoutRun;
      const layout = await layoutGraph(actor.graph, labelFor);
      if (run !== this.layoutRun) return;
      this.layout = layout;
      this.render(layout);
      this.layoutReady = true;
      this.applied = null;
      if (this.fittedFor !== actor.sessionId) {
        this.fit();
        this.fittedFor = actor.sessionId;
      }
    } else if (!this.layoutReady) {
      return; // the layout in progress applies the latest request when it is drawn
    }
    const request = this.request;
    this.caption.textContent = `${actor.name} · ${actor.sessionId}${request.live ? '' : ' · viewing the past (timeline)'}`;
    // An unchanged entry keeps its animation; a new one (or a new drawing) is applied.
    if (request.entry && request.entry !== this.applied) {
      this.applyEntry(request.entry, request.previous, request.animate && request.live && this.applied !== null);
    }
    this.applied = request.entry;
    this.shown = request.entry ? { entry: request.entry, live: request.live } : null;
    this.tick(this.clock());
  }

  /** Refreshes the countdowns; `now` is in the relay's clock. */
  tick(now: number): void {
    const actor = this.actor;
    const shown = this.shown;
    // One badge per pending delayed transition, stacked under its arrow's label.
    const wanted = new Map<string, { text: string; key: string; edgeId: string; slot: number }>();
    if (actor && shown) {
      const at = shown.live ? now : shown.entry.at;
      const slots = new Map<string, number>();
      for (const pending of pendingDelays(actor, shown.entry, at)) {
        const edgeId = this.edgeOf.get(pending.transition.id);
        if (!edgeId) continue;
        const slot = slots.get(edgeId) ?? 0;
        slots.set(edgeId, slot + 1);
        wanted.set(pending.transition.id, { text: remainingText(pending.remaining), key: pending.key, edgeId, slot });
      }
    }
    for (const [id, el] of this.countdowns) {
      if (!wanted.has(id)) {
        el.remove();
        this.countdowns.delete(id);
      }
    }
    for (const [id, want] of wanted) {
      let el = this.countdowns.get(id);
      if (!el) {
        const edge = this.edgeEls.get(want.edgeId);
        if (!edge) continue;
        el = h('span', { class: `countdown${shown?.live ? '' : ' frozen'}`, 'data-delay': want.key, title: `time left before 'after ${want.key}' fires` });
        const box = edge.layout.labelBox ?? { x: edge.layout.points[0]?.x ?? 0, y: edge.layout.points[0]?.y ?? 0, width: 0, height: 0 };
        el.style.left = `${box.x}px`;
        el.style.top = `${box.y + box.height + 2 + want.slot * 20}px`;
        this.canvas.append(el);
        this.countdowns.set(id, el);
      }
      if (el.textContent !== want.text) el.textContent = want.text;
    }
  }

  private clear(message: string): void {
    this.layoutKey = '';
    this.layoutReady = false;
    this.layoutRun++;
    this.layout = null;
    this.shown = null;
    this.applied = null;
    this.canvas.replaceChildren();
    this.stateEls.clear();
    this.edgeEls.clear();
    this.countdowns.clear();
    this.caption.textContent = message;
  }

  private render(layout: ChartLayout): void {
    this.canvas.replaceChildren();
    this.stateEls.clear();
    this.edgeEls.clear();
    this.edgeOf.clear();
    this.countdowns.clear();
    this.canvas.style.width = `${layout.width}px`;
    this.canvas.style.height = `${layout.height}px`;
    const sorted = [...layout.nodes.values()].sort((a, b) => a.node.depth - b.node.depth);
    for (const box of sorted) {
      const { node } = box;
      const isInitial = node.parent?.initialKey === node.key && node.parent.type !== 'parallel';
      const el = h(
        'div',
        {
          class: `state state-${node.type}${node.children.length ? ' compound' : ''}${isInitial ? ' initial' : ''}${node.depth === 0 ? ' root' : ''}`,
          'data-state-id': node.id,
          title: node.description ?? node.id,
        },
        h('div', { class: 'state-name' }, node.key),
        ...node.targetless.map((t) => h('div', { class: 'state-targetless', title: 'transition without a target (actions only)' }, `⟲ ${t}`)),
      );
      el.style.left = `${box.x}px`;
      el.style.top = `${box.y}px`;
      el.style.width = `${box.width}px`;
      el.style.height = `${box.height}px`;
      this.canvas.append(el);
      this.stateEls.set(node.id, el);
    }
    const edges = this.edgesSvg.cloneNode(false) as SVGSVGElement;
    edges.append(this.edgesSvg.querySelector('defs')!.cloneNode(true));
    edges.setAttribute('width', String(layout.width));
    edges.setAttribute('height', String(layout.height));
    for (const edge of layout.edges) {
      const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
      const delayed = edge.transitions.every((t) => t.delay);
      const path = svg('path', { d, class: `edge${delayed ? ' delayed' : ''}`, 'marker-end': 'url(#arrow)', 'data-edge': edge.id });
      edges.append(path);
      let label: HTMLElement | null = null;
      if (edge.labelBox) {
        const first = edge.transitions[0]!;
        label = h(
          'div',
          { class: `edge-label${delayed ? ' delayed' : ''}`, 'data-event': edge.transitions.map((t) => t.eventType).join(' '), title: `${first.source.id} → ${first.target.id}` },
          ...edge.labels.map((text) => h('div', {}, text)),
        );
        label.style.left = `${edge.labelBox.x}px`;
        label.style.top = `${edge.labelBox.y}px`;
      }
      this.edgeEls.set(edge.id, { path, label, layout: edge });
      for (const t of edge.transitions) this.edgeOf.set(t.id, edge.id);
    }
    this.canvas.append(edges);
    for (const { label } of this.edgeEls.values()) if (label) this.canvas.append(label);
  }

  private applyEntry(entry: SnapshotEntry, previous: SnapshotEntry | null, animate: boolean): void {
    for (const [id, el] of this.stateEls) {
      if (entry.active.has(id)) el.setAttribute('data-active', 'true');
      else el.removeAttribute('data-active');
    }
    for (const { path, label } of this.edgeEls.values()) {
      path.classList.remove('taken', 'last');
      label?.classList.remove('taken', 'last');
    }
    if (!previous) return;
    if (animate) {
      // States just entered flash once.
      for (const id of entry.active) {
        if (previous.active.has(id)) continue;
        const el = this.stateEls.get(id);
        if (!el) continue;
        // Swapping between two classes with the same animation restarts it without forcing a
        // layout of the page (reading offsetWidth did, once per step: issue 15.6).
        const again = el.classList.contains('entered');
        el.classList.remove(again ? 'entered' : 'entered-again');
        el.classList.add(again ? 'entered-again' : 'entered');
      }
    }
    const eventType = entry.event.type;
    for (const { path, label, layout } of this.edgeEls.values()) {
      const taken = layout.transitions.some((t) => t.eventType === eventType && previous.active.has(t.source.id) && entry.active.has(t.target.id));
      if (!taken) continue;
      const cls = animate ? 'taken' : 'last';
      path.classList.add(cls);
      label?.classList.add(cls);
      // Move the arrow to the end so the highlight is drawn over the others.
      path.parentNode?.append(path);
    }
    if (animate) {
      clearTimeout(this.takenTimer);
      this.takenTimer = setTimeout(() => {
        for (const { path, label } of this.edgeEls.values()) {
          if (path.classList.contains('taken')) {
            path.classList.replace('taken', 'last');
            label?.classList.replace('taken', 'last');
          }
        }
      }, TAKEN_MS);
    }
  }

  private setZoom(zoom: number, fitted = false): void {
    this.zoomFitted = fitted;
    this.zoom = Math.min(3, Math.max(0.2, zoom));
    this.canvas.style.transform = `scale(${this.zoom})`;
    this.element.setAttribute('data-zoom', this.zoom.toFixed(3));
    const layout = this.layout;
    const parent = this.canvas.parentElement;
    if (layout && parent) {
      // The scroll area follows the scaled size.
      this.canvas.style.marginRight = `${layout.width * (this.zoom - 1)}px`;
      this.canvas.style.marginBottom = `${layout.height * (this.zoom - 1)}px`;
    }
    this.updateOverflow();
  }

  /**
   * Fills the pane with the chart, but never shrinks it below READABLE_ZOOM (issue 15.5): at
   * that scale the smallest text (11.5 px labels) stays at least 10.5 px; a larger chart is
   * panned instead (the hint says so).
   */
  fit(): void {
    const layout = this.layout;
    const scroll = this.scroll;
    if (!layout || scroll.clientWidth === 0) return;
    const whole = Math.min(MAX_FIT_ZOOM, (scroll.clientWidth - 8) / Math.max(1, layout.width), (scroll.clientHeight - 8) / Math.max(1, layout.height));
    const zoom = Number.isFinite(whole) && whole > 0 ? Math.max(READABLE_ZOOM, whole) : 1;
    this.setZoom(zoom, true);
    scroll.scrollLeft = 0;
    scroll.scrollTop = 0;
  }
}
