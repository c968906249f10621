/**
 * The inspector page: follows the relay, keeps the store, and wires the actor list, the chart,
 * the timeline, the details panel, the event log and (when the server offers it) the demo.
 */
import { ActorList } from './actor-list.js';
import { ChartView } from './chart.js';
import { DetailsPanel } from './details.js';
import { formatTime, h } from './dom.js';
import { EventLog } from './event-log.js';
import { IngestQueue } from './ingest-queue.js';
import { connectLive, type LiveSender } from './live.js';
import { loadRecording, RecordingPanel } from './recording.js';
import { SendEventPanel } from './send-event.js';
import { lanesFor, SequenceView } from './sequence.js';
import { HISTORY_MAX_BYTES, Store, type ActorView, type LogEntry, type SnapshotEntry } from './store.js';
import { Timeline } from './timeline.js';

/** `?historyBytes=N` lowers the page's history bound (at least 256 KiB), e.g. for a test. */
const askedBytes = Number(new URLSearchParams(location.search).get('historyBytes'));
const store = new Store(Number.isFinite(askedBytes) && askedBytes > 0 ? Math.min(HISTORY_MAX_BYTES, Math.max(256 * 1024, askedBytes)) : HISTORY_MAX_BYTES);
const appRoot = document.getElementById('app')!;
const inbox = new IngestQueue(store);
let clockOffset = 0;
let selectedId: string | null = null;
/** Index into the selected actor's snapshots; null follows the latest. */
let pinnedIndex: number | null = null;
let shownEntry: SnapshotEntry | null = null;
/** The last actor selected because the URL named it (a later click elsewhere wins). */
let lastHashSelected: string | null = null;

/** The imported recording's file name while one is shown (issue 15.3); null follows the relay. */
let recordingName: string | null = null;

const serverNow = (): number => Date.now() + clockOffset;

const chart = new ChartView(() => serverNow());
const details = new DetailsPanel();
let sendToRelay: LiveSender | null = null;
const sendEvent = new SendEventPanel(() => sendToRelay);
const timeline = new Timeline((index) => {
  pinnedIndex = index;
  showSelected(false);
});
const sequence = new SequenceView(store);
/** The lanes the sequence view drew last, to redraw it only when one of them changed. */
let sequenceLanes = new Set<string>();
const tabButtons = (['chart', 'sequence'] as const).map((view) =>
  h('button', { type: 'button', 'data-view-tab': view, 'aria-pressed': String(view === 'chart'), onclick: () => showView(view) }, view === 'chart' ? 'Chart' : 'Sequence'),
);
const viewTabs = h('div', { class: 'view-tabs', role: 'tablist' }, ...tabButtons);

/** Chart or sequence view in the centre pane (issue 15.2). */
function showView(view: 'chart' | 'sequence'): void {
  for (const button of tabButtons) button.setAttribute('aria-pressed', String(button.getAttribute('data-view-tab') === view));
  chart.element.hidden = view !== 'chart';
  sequence.setVisible(view === 'sequence');
  drawSequence();
}

function drawSequence(): void {
  if (!sequence.isVisible) return;
  const actor = selected();
  sequenceLanes = new Set(actor ? lanesFor(store, actor).map((a) => a.sessionId) : []);
  sequence.show(actor);
}

const actorList = new ActorList(store, (id) => select(id));
const eventLog = new EventLog(store, (entry: LogEntry) => pick(entry));
const status = h('span', { class: 'live-status', 'data-live': 'false' }, 'connecting…');
/** Says whether the chart shows now or a past step (issue 15.4); clicking it returns to now. */
const viewStatus = h('button', { type: 'button', class: 'view-status', 'data-view': 'live', title: 'what the chart and snapshot show', onclick: () => { pinnedIndex = null; showSelected(false); } }, 'showing now');
const demoSlot = h('div', { class: 'demo-slot' });
const recordingPanel = new RecordingPanel({
  store,
  onLoaded: (file, name, bytes) => {
    recordingName = name;
    selectedId = null;
    pinnedIndex = null;
    shownEntry = null;
    lastHashSelected = decodeURIComponent(location.hash.slice(1)) || null;
    inbox.clear();
    loadRecording(store, file, bytes);
    status.textContent = `recording: ${name}`;
    status.setAttribute('data-live', 'recording');
  },
});

function selected(): ActorView | null {
  return selectedId ? (store.actors.get(selectedId) ?? null) : null;
}

function select(id: string): void {
  if (selectedId === id) return;
  selectedId = id;
  pinnedIndex = null;
  actorList.select(id);
  showSelected(false);
  history.replaceState(null, '', `#${encodeURIComponent(id)}`);
}

/** A click in the log: select that actor and move the timeline to that step. */
function pick(entry: LogEntry): void {
  const actor = store.actors.get(entry.sessionId);
  if (!actor) return;
  if (selectedId !== entry.sessionId) {
    selectedId = entry.sessionId;
    actorList.select(entry.sessionId);
  }
  const index = actor.snapshots.findIndex((s) => s.seq === entry.seq);
  pinnedIndex = index >= 0 && index < actor.snapshots.length - 1 ? index : null;
  showSelected(false);
}

function showSelected(animate: boolean): void {
  const actor = selected();
  const snapshots = actor?.snapshots ?? [];
  if (pinnedIndex !== null && pinnedIndex >= snapshots.length) pinnedIndex = null;
  const index = pinnedIndex ?? snapshots.length - 1;
  const entry = snapshots[index] ?? null;
  const previous = index > 0 ? (snapshots[index - 1] ?? null) : null;
  const live = pinnedIndex === null;
  const changed = entry !== shownEntry;
  shownEntry = entry;
  void chart.show(actor, entry, previous, live, animate && changed);
  details.show(actor, entry, live);
  sendEvent.show(actor, snapshots[snapshots.length - 1] ?? null);
  timeline.show(actor, index, live);
  drawSequence();
  eventLog.setSelected(selectedId, entry?.seq ?? null);
  // A recording's log shows what had happened by the moment scrubbed to.
  eventLog.setUntil(recordingName !== null && !live && entry ? entry.at : null);
  const step = entry ? `${formatTime(entry.at)} (step ${index + 1} of ${snapshots.length})` : '';
  if (recordingName !== null) {
    viewStatus.setAttribute('data-view', live ? 'recording' : 'past');
    viewStatus.textContent = live || !entry ? `recording: its last step${entry ? ` ${step}` : ''}` : `recording, viewing the past: ${step} — to its end`;
    return;
  }
  viewStatus.setAttribute('data-view', live ? 'live' : 'past');
  viewStatus.textContent = live || !entry ? 'showing now' : `viewing the past: ${step} — back to now`;
}

store.onChange((changed) => {
  // What the page holds, for tests and the bench (issue 15.6).
  appRoot.setAttribute('data-ingested', String(store.ingested));
  appRoot.setAttribute('data-history-bytes', String(store.historyBytes));
  appRoot.setAttribute('data-log-length', String(store.log.length));
  appRoot.setAttribute('data-actor-count', String(store.actors.size));
  actorList.refresh(changed);
  eventLog.refresh(changed);
  // The actor named in the URL (also set by the demo for a new client) once it shows up.
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted && wanted !== selectedId && store.actors.has(wanted) && wanted !== lastHashSelected) {
    lastHashSelected = wanted;
    select(wanted);
  } else if (!selectedId) {
    const first = [...store.actors.values()].find((a) => a.graph);
    if (first) select(first.sessionId);
  } else if (changed.has(selectedId) || changed.has('*')) {
    showSelected(true);
  } else if (sequence.isVisible && [...sequenceLanes].some((id) => changed.has(id))) {
    drawSequence();
  }
});

sendToRelay = connectLive(
  (frame, bytes) => {
    // An imported recording is shown instead of the live stream until the page is reloaded.
    if (recordingName !== null) return;
    if (frame.t === 'hello') {
      sendEvent.setServerEvents(frame.serverEvents === true);
      inbox.clear();
      store.clear();
      shownEntry = null;
      if (frame.demo) void import('./demo.js').then((m) => m.mountDemo(demoSlot));
    } else if (frame.t === 'sent') {
      sendEvent.answer(frame);
    } else if (frame.t === 'producer') {
      inbox.after(() => store.setProducer(frame.label, frame.connected, frame.at));
    } else {
      inbox.add(frame.items, bytes);
    }
  },
  (s) => {
    if (recordingName !== null) return;
    clockOffset = s.clockOffset;
    status.textContent = s.connected ? 'live' : 'reconnecting…';
    status.setAttribute('data-live', String(s.connected));
  },
);

window.addEventListener('hashchange', () => {
  const wanted = decodeURIComponent(location.hash.slice(1));
  lastHashSelected = null;
  if (wanted && store.actors.has(wanted)) {
    lastHashSelected = wanted;
    select(wanted);
  }
});

setInterval(() => {
  const now = serverNow();
  chart.tick(now);
  details.tick(now);
}, 100);

appRoot.setAttribute('data-history-max-bytes', String(store.historyMaxBytes));
appRoot.replaceChildren(
  h('header', { class: 'top' }, h('h1', {}, 'rtm-statechart inspector'), status, viewStatus, recordingPanel.element),
  h('aside', { class: 'left' }, demoSlot, actorList.element),
  h('main', { class: 'center' }, viewTabs, chart.element, sequence.element, timeline.element),
  h('aside', { class: 'right' }, details.element, sendEvent.element),
  h('footer', { class: 'bottom' }, eventLog.element),
);
