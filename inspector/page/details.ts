/**
 * The right-hand panel: the shown snapshot (state, event, context), its pending delayed
 * transitions, and the Stately export of the machine definition.
 */
import { pendingDelays, remainingText } from './delays.js';
import { formatTime, h } from './dom.js';
import { stateValueText } from './machine-graph.js';
import type { ActorView, SnapshotEntry } from './store.js';

export class DetailsPanel {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly pending: HTMLElement;
  private readonly copyStatus: HTMLElement;
  private actor: ActorView | null = null;
  private entry: SnapshotEntry | null = null;
  private live = true;
  private copiedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.body = h('div', { class: 'details-body' });
    this.pending = h('ul', { class: 'pending-list' });
    this.copyStatus = h('span', { class: 'muted copy-status', role: 'status' });
    const copy = h('button', { type: 'button', class: 'copy-definition', 'data-copied': 'false', title: 'Copy the machine definition JSON, to import into Stately Studio', onclick: () => void this.copyDefinition() }, 'Copy definition for Stately');
    const download = h('button', { type: 'button', onclick: () => this.downloadDefinition() }, 'Download JSON');
    this.element = h(
      'section',
      { class: 'panel details' },
      h('h2', {}, 'Snapshot'),
      this.body,
      h('h3', {}, 'Pending delayed transitions'),
      this.pending,
      h('div', { class: 'stately' }, copy, download, this.copyStatus),
    );
  }

  show(actor: ActorView | null, entry: SnapshotEntry | null, live: boolean): void {
    this.actor = actor;
    this.entry = entry;
    this.live = live;
    if (!actor) {
      this.body.replaceChildren(h('p', { class: 'muted' }, 'No actor selected.'));
      this.pending.replaceChildren();
      return;
    }
    const snapshot = entry?.snapshot ?? {};
    const rows: [string, string][] = [
      ['actor', `${actor.name} (${actor.sessionId})`],
      ['state', stateValueText(snapshot.value)],
      ['status', typeof snapshot.status === 'string' ? snapshot.status : ''],
      ['event', entry ? entry.event.type : ''],
      ['at', entry ? formatTime(entry.at) : ''],
    ];
    if (actor.staleSince !== null) rows.push(['stale', `producer disconnected at ${formatTime(actor.staleSince)}: last known state`]);
    this.body.replaceChildren(
      h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)])),
      h('h3', {}, 'Event'),
      h('pre', { class: 'json' }, JSON.stringify(entry?.event ?? null, null, 2)),
      h('h3', {}, 'Context'),
      h('pre', { class: 'json' }, JSON.stringify(snapshot.context ?? null, null, 2)),
    );
  }

  tick(now: number): void {
    const { actor, entry } = this;
    if (!actor || !entry) {
      this.pending.replaceChildren();
      return;
    }
    const list = pendingDelays(actor, entry, this.live ? now : entry.at);
    const items = list.map((p) =>
      h('li', { 'data-pending-delay': p.key }, `${p.transition.source.key} → ${p.transition.target.key}: after ${p.key}${p.ms !== null && p.transition.delay?.ms === null ? ` (${p.ms} ms)` : ''} — `, h('strong', {}, remainingText(p.remaining))),
    );
    this.pending.replaceChildren(...(items.length ? items : [h('li', { class: 'muted' }, 'none')]));
  }

  private async copyDefinition(): Promise<void> {
    const json = this.definitionJson();
    if (!json) return;
    try {
      await navigator.clipboard.writeText(json);
    } catch {
      // Clipboard API unavailable (plain http on another host): fall back to a selected textarea.
      const area = h('textarea', {}, json);
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    this.copyStatus.textContent = 'Copied. In Stately Studio: Import → paste the JSON.';
    this.flashCopied();
  }

  /** The button itself says it worked for a moment (issue 15.5), where the eye already is. */
  private flashCopied(): void {
    const button = this.element.querySelector<HTMLButtonElement>('.copy-definition');
    if (!button) return;
    button.setAttribute('data-copied', 'true');
    button.textContent = 'Copied ✓';
    clearTimeout(this.copiedTimer);
    this.copiedTimer = setTimeout(() => {
      button.setAttribute('data-copied', 'false');
      button.textContent = 'Copy definition for Stately';
    }, 2_000);
  }

  private downloadDefinition(): void {
    const json = this.definitionJson();
    if (!json || !this.actor) return;
    const a = h('a', { href: URL.createObjectURL(new Blob([json], { type: 'application/json' })), download: `${this.actor.name}.machine.json` });
    a.click();
    URL.revokeObjectURL(a.href);
  }

  private definitionJson(): string | null {
    if (!this.actor?.definition) {
      this.copyStatus.textContent = 'This actor reported no machine definition.';
      return null;
    }
    return JSON.stringify(JSON.parse(this.actor.definition), null, 2);
  }
}
