/** The list of actors, children under their parents; each item carries `data-actor-id`. */
import { formatTime, h } from './dom.js';
import { stateValueText } from './machine-graph.js';
import type { ActorView, Store } from './store.js';

export class ActorList {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly items = new Map<string, HTMLElement>();
  private selected: string | null = null;
  /** What each item shows now, so that an unchanged item is not rebuilt. */
  private readonly shownKey = new WeakMap<HTMLElement, string>();
  /**
   * Items in view are updated as their actors step; the others when they come into view
   * (issue 15.6: 1 000 actors stepping at once).
   */
  private readonly inView = new Set<Element>();
  private readonly stale = new Set<string>();
  private readonly observer: IntersectionObserver;

  constructor(private readonly store: Store, private readonly onSelect: (sessionId: string) => void) {
    this.search = h('input', { type: 'search', placeholder: 'filter actors', class: 'actor-search', oninput: () => this.refresh(new Set(['actors'])) });
    this.count = h('span', { class: 'muted' });
    this.list = h('ul', { class: 'actor-list', role: 'listbox' });
    this.element = h('section', { class: 'panel actors' }, h('h2', {}, 'Actors ', this.count), this.search, this.list);
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) {
          this.inView.delete(entry.target);
          continue;
        }
        this.inView.add(entry.target);
        const id = entry.target.getAttribute('data-actor-id');
        const actor = id !== null && this.stale.delete(id) ? this.store.actors.get(id) : undefined;
        if (actor) this.fill(entry.target as HTMLElement, actor);
      }
    }, { rootMargin: '200px 0px' });
  }

  select(sessionId: string | null): void {
    if (this.selected) this.items.get(this.selected)?.removeAttribute('data-selected');
    this.selected = sessionId;
    if (sessionId) this.items.get(sessionId)?.setAttribute('data-selected', 'true');
  }

  refresh(changed: Set<string>): void {
    const structural = changed.has('actors') || changed.has('*');
    if (structural) this.rebuild();
    for (const id of changed) {
      const actor = this.store.actors.get(id);
      const el = this.items.get(id);
      if (!actor || !el) continue;
      if (this.inView.has(el)) this.fill(el, actor);
      else this.stale.add(id);
    }
  }

  private rebuild(): void {
    const filter = this.search.value.trim().toLowerCase();
    const actors = [...this.store.actors.values()].sort((a, b) => a.createdAt - b.createdAt);
    const children = new Map<string | null, ActorView[]>();
    for (const actor of actors) {
      const parent = actor.parentId && this.store.actors.has(actor.parentId) ? actor.parentId : null;
      const siblings = children.get(parent) ?? [];
      siblings.push(actor);
      children.set(parent, siblings);
    }
    const ordered: { actor: ActorView; depth: number }[] = [];
    const walk = (parent: string | null, depth: number): void => {
      for (const actor of children.get(parent) ?? []) {
        ordered.push({ actor, depth });
        walk(actor.sessionId, depth + 1);
      }
    };
    walk(null, 0);
    const fragment = document.createDocumentFragment();
    for (const { actor, depth } of ordered) {
      if (filter && !`${actor.name} ${actor.sessionId}`.toLowerCase().includes(filter)) continue;
      let el = this.items.get(actor.sessionId);
      if (!el) {
        const id = actor.sessionId;
        el = h('li', { 'data-actor-id': id, role: 'option', tabindex: 0, onclick: () => this.onSelect(id), onkeydown: (e) => { if ((e as KeyboardEvent).key === 'Enter') this.onSelect(id); } });
        this.items.set(id, el);
        this.fill(el, actor);
        this.observer.observe(el);
      }
      el.style.paddingLeft = `${8 + depth * 14}px`;
      if (actor.sessionId === this.selected) el.setAttribute('data-selected', 'true');
      fragment.append(el);
    }
    for (const [id, el] of this.items) {
      if (this.store.actors.has(id)) continue;
      this.observer.unobserve(el);
      this.inView.delete(el);
      this.stale.delete(id);
      this.items.delete(id);
    }
    this.list.replaceChildren(fragment);
    this.count.textContent = `(${actors.length})`;
  }

  private fill(el: HTMLElement, actor: ActorView): void {
    const last = actor.snapshots[actor.snapshots.length - 1];
    const status = typeof last?.snapshot.status === 'string' ? last.snapshot.status : 'active';
    const state = last ? stateValueText(last.snapshot.value) : '';
    // Our machines keep the user's id in context: show it, it is what people look for.
    const context = last?.snapshot.context as { uid?: unknown } | undefined;
    const uid = typeof context?.uid === 'string' ? context.uid : null;
    // A producer that went away leaves its actors' last state: say so rather than show it as live.
    const stale = actor.staleSince !== null;
    const name = uid ? `${actor.name} · ${uid}` : actor.name;
    const stateText = state || (actor.graph ? '' : 'no chart');
    // Only what changed is written (issue 15.6): with 1 000 actors stepping at once, rebuilding
    // every item each frame was most of the page's time.
    const key = `${status}\u0000${stale}\u0000${name}\u0000${stateText}`;
    if (this.shownKey.get(el) === key) return;
    this.shownKey.set(el, key);
    el.setAttribute('data-status', status);
    if (stale) el.setAttribute('data-stale', 'true');
    else el.removeAttribute('data-stale');
    el.title = stale ? `stale: its producer disconnected at ${formatTime(actor.staleSince!)}; this is its last known state` : '';
    el.replaceChildren(
      h('span', { class: `dot ${stale ? 'stale' : status}` }),
      h('span', { class: 'actor-name' }, name),
      h('span', { class: 'actor-state' }, stale ? h('span', { class: 'stale-badge' }, 'stale') : null, ' ', stateText),
      h('span', { class: 'actor-id muted' }, actor.sessionId),
    );
  }
}
