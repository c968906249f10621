/** Steps back and forth through the selected actor's past snapshots; "live" follows the latest. */
import { formatTime, h } from './dom.js';
import type { ActorView } from './store.js';

export class Timeline {
  readonly element: HTMLElement;
  private readonly range: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly liveButton: HTMLButtonElement;
  private count = 0;
  private index = 0;

  constructor(private readonly onPin: (index: number | null) => void) {
    this.range = h('input', { type: 'range', min: 0, max: 0, value: 0, class: 'timeline-range', 'data-timeline': 'range', 'aria-label': 'snapshot history', oninput: () => this.pin(Number(this.range.value)) });
    this.label = h('span', { class: 'timeline-label' });
    this.liveButton = h('button', { type: 'button', class: 'live-button', 'data-timeline': 'live', onclick: () => this.onPin(null) }, 'live');
    this.element = h(
      'div',
      { class: 'timeline' },
      h('button', { type: 'button', title: 'previous step', 'data-timeline': 'previous', onclick: () => this.pin(this.index - 1) }, '◀'),
      this.range,
      h('button', { type: 'button', title: 'next step', 'data-timeline': 'next', onclick: () => this.pin(this.index + 1) }, '▶'),
      this.liveButton,
      this.label,
    );
  }

  private pin(index: number): void {
    if (this.count === 0) return;
    const clamped = Math.max(0, Math.min(this.count - 1, index));
    this.onPin(clamped >= this.count - 1 ? null : clamped);
  }

  show(actor: ActorView | null, index: number, live: boolean): void {
    const snapshots = actor?.snapshots ?? [];
    this.count = snapshots.length;
    this.index = index;
    this.range.max = String(Math.max(0, snapshots.length - 1));
    this.range.value = String(Math.max(0, index));
    this.range.disabled = snapshots.length < 2;
    this.liveButton.setAttribute('data-live', String(live));
    const entry = snapshots[index];
    this.element.setAttribute('data-index', String(index));
    this.element.setAttribute('data-count', String(snapshots.length));
    this.label.textContent = entry ? `step ${index + 1} / ${snapshots.length} · ${formatTime(entry.at)} · ${entry.event.type}${live ? ' · live' : ''}` : 'no snapshots yet';
  }
}
