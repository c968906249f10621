/**
 * The event log: every step (time, actor, event, resulting state, reason, context), filtered by
 * scope and searched by text. Only the rows in view exist in the DOM, so 10 000+ entries scroll
 * smoothly; it follows the tail unless the user scrolled up.
 */
import { compactJson, formatTime, h } from './dom.js';
import type { LogEntry, Store } from './store.js';

const ROW_HEIGHT = 22;
const OVERSCAN = 10;

export class EventLog {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly scope: HTMLSelectElement;
  private readonly hideInternal: HTMLInputElement;
  private readonly count: HTMLElement;
  private filtered: LogEntry[] = [];
  /** Log length when the rows were last filtered. */
  private filteredTotal = 0;
  private follow = true;
  /** Where following the tail last put the scroll position. */
  private autoScrollTop = 0;
  private selectedSessionId: string | null = null;
  private highlightSeq: number | null = null;
  private renderScheduled = false;
  /** While paused the rows stay as they were; new entries are only counted (issue 15.5). */
  private paused = false;
  /** Shows only the entries up to this time (a recording scrubbed to a past step), or all. */
  private until: number | null = null;
  private readonly pauseButton: HTMLButtonElement;

  constructor(private readonly store: Store, private readonly onPick: (entry: LogEntry) => void) {
    const refilter = (): void => this.refilter();
    this.search = h('input', { type: 'search', placeholder: 'search events, states, reasons, context', class: 'log-search', oninput: refilter });
    this.scope = h('select', { class: 'log-scope', onchange: refilter }, h('option', { value: 'all' }, 'all actors'), h('option', { value: 'selected' }, 'selected actor'));
    this.hideInternal = h('input', { type: 'checkbox', onchange: refilter });
    this.count = h('span', { class: 'muted log-count' });
    this.pauseButton = h('button', { type: 'button', 'data-log': 'pause', 'aria-pressed': 'false', title: 'Stop the log moving; new entries are still recorded', onclick: () => this.setPaused(!this.paused) }, 'pause');
    const clear = h('button', { type: 'button', 'data-log': 'clear', title: 'Remove the entries so far from the log (charts and timelines keep theirs)', onclick: () => this.store.clearLog() }, 'clear');
    this.spacer = h('div', { class: 'log-spacer' });
    this.rows = h('div', { class: 'log-rows' });
    this.viewport = h('div', { class: 'log-viewport', onscroll: () => this.onScroll() }, this.spacer, this.rows);
    const header = h(
      'div',
      { class: 'log-row log-header' },
      h('span', { class: 'c-time' }, 'time'),
      h('span', { class: 'c-actor' }, 'actor'),
      h('span', { class: 'c-event' }, 'event'),
      h('span', { class: 'c-state' }, 'state'),
      h('span', { class: 'c-reason' }, 'reason'),
      h('span', { class: 'c-context' }, 'context'),
    );
    this.element = h(
      'section',
      { class: 'panel log' },
      h('div', { class: 'log-toolbar' }, h('h2', {}, 'Event log'), this.search, this.scope, h('label', {}, this.hideInternal, ' hide xstate.* events'), this.pauseButton, clear, this.count),
      header,
      this.viewport,
    );
  }

  setSelected(sessionId: string | null, seq: number | null): void {
    const scopeChanged = this.scope.value === 'selected' && sessionId !== this.selectedSessionId;
    this.selectedSessionId = sessionId;
    this.highlightSeq = seq;
    if (scopeChanged) this.refilter();
    else this.scheduleRender();
  }

  setUntil(at: number | null): void {
    if (at === this.until) return;
    this.until = at;
    this.refilter();
  }

  refresh(changed: Set<string>): void {
    if (!(changed.has('log') || changed.has('*'))) return;
    if (this.paused && !changed.has('*')) {
      this.count.textContent = `paused · ${this.store.log.length - this.filteredTotal} new`;
      return;
    }
    this.refilter();
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.pauseButton.textContent = paused ? 'resume' : 'pause';
    this.pauseButton.setAttribute('aria-pressed', String(paused));
    this.element.setAttribute('data-paused', String(paused));
    if (!paused) this.refilter();
  }

  private matches(entry: LogEntry, text: string, scopeId: string | null, hideInternal: boolean): boolean {
    if (this.until !== null && entry.at > this.until) return false;
    if (scopeId && entry.sessionId !== scopeId) return false;
    if (hideInternal && entry.eventType.startsWith('xstate.') && !entry.eventType.startsWith('xstate.after.')) return false;
    if (!text) return true;
    entry.haystack ??= `${entry.actorName} ${entry.sessionId} ${entry.eventType} ${entry.state} ${entry.reason} ${compactJson(entry.context, 2000)}`.toLowerCase();
    return entry.haystack.includes(text);
  }

  private refilter(): void {
    const text = this.search.value.trim().toLowerCase();
    const scopeId = this.scope.value === 'selected' ? this.selectedSessionId : null;
    const hide = this.hideInternal.checked;
    const all = this.store.log;
    // A copy while paused, so that entries arriving meanwhile do not move the rows.
    this.filtered = !text && !scopeId && !hide && this.until === null ? (this.paused ? all.slice() : all) : all.filter((e) => this.matches(e, text, scopeId, hide));
    this.filteredTotal = all.length;
    this.spacer.style.height = `${this.filtered.length * ROW_HEIGHT}px`;
    // Following the tail is done when the rows are drawn: reading the scroll height here would
    // lay the page out once more per update (issue 15.6).
    this.scheduleRender();
  }

  private onScroll(): void {
    const v = this.viewport;
    // Rows added after the tail was followed, before this event, do not mean the user scrolled
    // up: only a position above where following put it does.
    this.follow = v.scrollTop >= this.autoScrollTop - 1 || v.scrollTop + v.clientHeight >= v.scrollHeight - ROW_HEIGHT * 2;
    this.scheduleRender();
  }

  private scheduleRender(): void {
    if (this.renderScheduled) return;
    this.renderScheduled = true;
    requestAnimationFrame(() => {
      this.renderScheduled = false;
      this.render();
    });
  }

  private render(): void {
    const v = this.viewport;
    if (this.follow) {
      v.scrollTop = this.filtered.length * ROW_HEIGHT;
      this.autoScrollTop = v.scrollTop;
    }
    const first = Math.max(0, Math.floor(v.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.filtered.length, Math.ceil((v.scrollTop + v.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const entry = this.filtered[i];
      if (!entry) continue;
      const row = h(
        'div',
        {
          class: `log-row${entry.seq === this.highlightSeq ? ' current' : ''}${entry.sessionId === this.selectedSessionId ? ' mine' : ''}`,
          'data-seq': entry.seq,
          'data-at': entry.at,
          'data-actor': entry.sessionId,
          onclick: () => this.onPick(entry),
        },
        h('span', { class: 'c-time' }, formatTime(entry.at)),
        h('span', { class: 'c-actor', title: entry.sessionId }, entry.actorName),
        h('span', { class: 'c-event', title: entry.eventType }, entry.eventType),
        h('span', { class: 'c-state' }, entry.state),
        h('span', { class: 'c-reason' }, entry.reason),
        h('span', { class: 'c-context' }, compactJson(contextPreview(entry.context), 300)),
      );
      row.style.top = `${i * ROW_HEIGHT}px`;
      fragment.append(row);
    }
    this.rows.replaceChildren(fragment);
    // Said when the rows are drawn, so that the count and the rows always agree.
    if (!this.paused) {
      const whole = this.filtered === this.store.log || this.filtered.length === this.filteredTotal;
      this.count.textContent = whole ? `${this.filtered.length} entries` : `${this.filtered.length} of ${this.filteredTotal}`;
    }
  }
}

/**
 * The context as a log row shows it: what changes first, `timing` (the same in every step of
 * our machines) last, so that a row does not start with it (issue 15.5).
 */
export function contextPreview(context: unknown): unknown {
  if (typeof context !== 'object' || context === null || Array.isArray(context) || !('timing' in context)) return context;
  const { timing, ...rest } = context as Record<string, unknown>;
  return { ...rest, timing };
}
