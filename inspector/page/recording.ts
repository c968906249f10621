/**
 * Export and import of the whole recording (issue 15.3): what the store holds is written back
 * as the inspection messages it was built from (registrations, snapshots, events, each with
 * the time it was received) plus each actor's metadata, in the versioned format of
 * `src/testing/recording-file.ts`; an imported file is checked and fed to a fresh store, so
 * the chart, the timeline and the log work on it exactly as on a live session.
 */
import { RECORDING_FORMAT, RECORDING_LIMITS, RECORDING_VERSION, readRecording, type RecordedMessage, type RecordingFile } from '../../src/testing/recording-file.js';
import type { InspectionMessage } from '../server/messages.js';
import { h } from './dom.js';
import { producerOf, type Store } from './store.js';

export function exportRecording(store: Store, now = Date.now()): RecordingFile {
  const registrations: RecordedMessage[] = [];
  const steps: RecordedMessage[] = [];
  const actors = [...store.actors.values()];
  for (const actor of actors) {
    const first = actor.snapshots[0];
    const registration: RecordedMessage = { type: '@xstate.actor', sessionId: actor.sessionId, name: actor.name, _receivedAt: Math.min(actor.createdAt, first?.at ?? actor.createdAt) };
    if (actor.parentId) registration.parentId = actor.parentId;
    if (actor.definition) registration.definition = actor.definition;
    if (actor.node) registration._node = actor.node;
    if (Object.keys(actor.delays).length) registration._delays = actor.delays;
    // An actor known only from its registration keeps that snapshot as its registration's.
    if (first?.provisional) registration.snapshot = first.snapshot;
    registrations.push(registration);
    for (const entry of actor.snapshots) {
      if (entry.provisional) continue;
      steps.push({ type: '@xstate.snapshot', sessionId: actor.sessionId, event: entry.event, snapshot: entry.snapshot, _receivedAt: entry.at, _delays: entry.delays });
    }
  }
  for (const entry of store.log) {
    if (store.actors.get(entry.sessionId)?.graph) continue;
    const event: RecordedMessage = { type: '@xstate.event', sessionId: entry.sessionId, event: { type: entry.eventType }, _receivedAt: entry.at };
    if (entry.sourceId) event.sourceId = entry.sourceId;
    steps.push(event);
  }
  for (const m of store.messages) steps.push({ type: '@xstate.event', sessionId: m.to, sourceId: m.from, event: { type: m.type }, _receivedAt: m.at });
  // Registrations first (an actor's chart before its steps), then every step in time order.
  steps.sort((a, b) => a._receivedAt - b._receivedAt);
  return {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    exportedAt: now,
    actors: actors.map((a) => ({ sessionId: a.sessionId, name: a.name, parentId: a.parentId, producer: producerOf(a.sessionId), node: a.node, staleSince: a.staleSince })),
    items: [...registrations, ...steps],
  };
}

/** Feeds a checked file to the store, replacing what it held. */
export function loadRecording(store: Store, file: RecordingFile, bytes?: number): void {
  store.clear();
  // checkRecordingFile checked each item's kind and the fields the store reads.
  store.ingest(file.items as unknown as InspectionMessage[], bytes);
  for (const meta of file.actors) {
    const actor = store.actors.get(meta.sessionId);
    if (actor) actor.staleSince = meta.staleSince ?? null;
  }
}

export interface RecordingPanelHooks {
  store: Store;
  /** A file was read and checked: the page shows it instead of the live stream. */
  onLoaded(file: RecordingFile, name: string, bytes: number): void;
}

/**
 * Export (a download) and import (a file input, or a file dropped anywhere on the page). A bad
 * file shows its error in `data-recording-error`; nothing else changes.
 */
export class RecordingPanel {
  readonly element: HTMLElement;
  private readonly error: HTMLElement;
  private readonly input: HTMLInputElement;

  constructor(private readonly hooks: RecordingPanelHooks) {
    this.error = h('span', { class: 'recording-error', 'data-recording-error': '', role: 'alert' });
    this.input = h('input', { type: 'file', accept: '.json,application/json', 'data-recording': 'import', class: 'recording-input', onchange: () => { const file = this.input.files?.[0]; if (file) void this.read(file); this.input.value = ''; } });
    this.element = h(
      'span',
      { class: 'recording-tools' },
      h('button', { type: 'button', 'data-recording': 'export', title: 'Save the whole recording (definitions, snapshots, events, times) as a JSON file', onclick: () => this.download() }, 'Export recording'),
      h('label', { class: 'recording-import', title: 'Open a recording exported by this page (or drop the file on the page)' }, 'Import…', this.input),
      this.error,
    );
    document.addEventListener('dragover', (e) => { if (e.dataTransfer?.types.includes('Files')) e.preventDefault(); });
    document.addEventListener('drop', (e) => {
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      e.preventDefault();
      void this.read(file);
    });
  }

  private download(): void {
    const text = JSON.stringify(exportRecording(this.hooks.store));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: `rtm-recording-${stamp}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  private async read(file: File): Promise<void> {
    this.showError('');
    // The size is checked before the file is read, so a huge one costs nothing.
    if (file.size > RECORDING_LIMITS.maxBytes) return this.showError(`${file.name}: not a readable recording: it is larger than ${RECORDING_LIMITS.maxBytes / 1024 / 1024} MiB`);
    try {
      const text = await file.text();
      this.hooks.onLoaded(readRecording(text), file.name, text.length);
    } catch (error) {
      this.showError(`${file.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private showError(message: string): void {
    this.error.textContent = message;
    this.error.setAttribute('data-recording-error', message ? 'true' : '');
  }
}
