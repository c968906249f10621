/**
 * Sends an event to the selected actor (issue 15.1): a type offered from the machine's own
 * transitions (those the current state takes first), a JSON payload, and the relay's answer.
 * The request goes over the page's live socket; the relay checks it, and says when the actor
 * cannot be reached (a foreign `@statelyai/inspect` producer has no return path).
 */
import { h } from './dom.js';
import type { LiveSender } from './live.js';
import type { ActorView, SnapshotEntry } from './store.js';

export interface SentAnswer {
  id: number | null;
  ok: boolean;
  code?: string;
  message?: string;
}

export class SendEventPanel {
  readonly element: HTMLElement;
  private readonly type: HTMLInputElement;
  private readonly options: HTMLDataListElement;
  private readonly payload: HTMLTextAreaElement;
  private readonly result: HTMLElement;
  private readonly button: HTMLButtonElement;
  private actor: ActorView | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, string>();
  private serverEvents = false;
  private optionsKey = '';

  constructor(private readonly send: () => LiveSender | null) {
    this.type = h('input', { type: 'text', class: 'send-type', 'data-send': 'type', list: 'send-event-types', placeholder: 'event type', 'aria-label': 'event type', autocomplete: 'off' });
    this.options = h('datalist', { id: 'send-event-types' });
    this.payload = h('textarea', { class: 'send-payload', 'data-send': 'payload', rows: 3, spellcheck: 'false', 'aria-label': 'event payload (JSON object)', placeholder: '{ } payload fields (JSON)' });
    this.result = h('div', { class: 'send-result muted', 'data-send-result': '', role: 'status' });
    this.button = h('button', { type: 'submit', 'data-send': 'submit' }, 'Send');
    const form = h('form', { class: 'send-form', onsubmit: (e) => { e.preventDefault(); this.submit(); } }, this.type, this.options, this.payload, this.button);
    this.element = h('section', { class: 'send-event' }, h('h3', {}, 'Send an event'), form, this.result);
  }

  setServerEvents(allowed: boolean): void {
    this.serverEvents = allowed;
  }

  show(actor: ActorView | null, entry: SnapshotEntry | null): void {
    if (actor !== this.actor) this.report(null, '');
    this.actor = actor;
    this.element.hidden = !actor || !actor.graph;
    if (!actor?.graph) return;
    // Events the current state handles first, then the machine's others.
    const now = new Set<string>();
    const all = new Set<string>();
    for (const [stateId, events] of actor.graph.handledEvents) {
      for (const event of events) {
        all.add(event);
        if (entry?.active.has(stateId)) now.add(event);
      }
    }
    const ordered = [...now, ...[...all].filter((e) => !now.has(e))];
    const key = `${actor.sessionId}|${ordered.join(',')}|${[...now].join(',')}`;
    if (key === this.optionsKey) return;
    this.optionsKey = key;
    this.options.replaceChildren(...ordered.map((e) => h('option', { value: e }, now.has(e) ? 'taken in this state' : 'other states')));
    this.element.setAttribute('data-events', ordered.join(' '));
    this.element.setAttribute('data-events-now', [...now].join(' '));
    if (!this.type.value && ordered[0]) this.type.value = ordered[0];
    if (!actor.sessionId.includes('/') && !this.serverEvents) this.report(false, "Sending to the server's own actors needs the inspector's access token (or the demo on loopback).");
  }

  /** The relay's answer to a request of ours. */
  answer(frame: SentAnswer): void {
    if (frame.id === null || !this.waiting.has(frame.id)) return;
    const type = this.waiting.get(frame.id)!;
    this.waiting.delete(frame.id);
    this.report(frame.ok, frame.ok ? `Sent ${type}.` : `Not sent (${frame.code}): ${frame.message}`, frame.code);
  }

  private submit(): void {
    const actor = this.actor;
    if (!actor) return;
    const type = this.type.value.trim();
    if (!type) return this.report(false, 'Give an event type.', 'BAD_REQUEST');
    let payload: unknown = {};
    const text = this.payload.value.trim();
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch (error) {
        return this.report(false, `The payload is not JSON: ${(error as Error).message}`, 'BAD_REQUEST');
      }
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return this.report(false, 'The payload is a JSON object of the event\'s fields.', 'BAD_REQUEST');
    }
    const id = this.nextId++;
    const sent = this.send()?.({ t: 'send', id, sessionId: actor.sessionId, event: { ...(payload as object), type } });
    if (!sent) return this.report(false, 'Not connected to the relay.', 'OFFLINE');
    this.waiting.set(id, type);
    if (this.waiting.size > 100) this.waiting.delete(this.waiting.keys().next().value!);
    this.report(null, `Sending ${type}…`);
  }

  private report(ok: boolean | null, text: string, code?: string): void {
    this.result.textContent = text;
    this.result.setAttribute('data-send-result', ok === null ? '' : ok ? 'ok' : 'refused');
    if (code) this.result.setAttribute('data-code', code);
    else this.result.removeAttribute('data-code');
  }
}
