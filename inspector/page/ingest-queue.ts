/**
 * Feeds the store in slices of about 10 ms, one per frame (issue 15.6). A page that fell behind gets
 * its backlog from the relay as one large batch; ingesting it at once was a task of a second
 * and more, with no frame drawn meanwhile. Order is kept: a producer's coming and going is
 * applied after the items that arrived before it.
 */
import type { InspectionMessage } from '../server/messages.js';
import type { Store } from './store.js';

const SLICE_ITEMS = 250;

type Job = { items: InspectionMessage[]; bytes: number; offset: number } | (() => void);

export class IngestQueue {
  private readonly jobs: Job[] = [];
  private scheduled = false;
  private readonly channel = new MessageChannel();

  constructor(private readonly store: Store, private readonly sliceMs = 10) {
    this.channel.port1.onmessage = () => this.pump();
  }

  /** `bytes`: the size of the frame they came in. */
  add(items: InspectionMessage[], bytes: number): void {
    if (items.length === 0) return;
    this.jobs.push({ items, bytes, offset: 0 });
    this.schedule();
  }

  /** Runs `step` once everything queued before it is in the store. */
  after(step: () => void): void {
    if (this.jobs.length === 0) step();
    else this.jobs.push(step);
  }

  clear(): void {
    this.jobs.length = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.channel.port2.postMessage(null);
  }

  private pump(): void {
    this.scheduled = false;
    const started = performance.now();
    while (this.jobs.length > 0 && performance.now() - started < this.sliceMs) {
      const job = this.jobs[0]!;
      if (typeof job === 'function') {
        this.jobs.shift();
        job();
        continue;
      }
      const slice = job.items.slice(job.offset, job.offset + SLICE_ITEMS);
      job.offset += slice.length;
      this.store.ingest(slice, Math.round((job.bytes * slice.length) / job.items.length));
      if (job.offset >= job.items.length) this.jobs.shift();
    }
    // The rest after the next frame is drawn: posted tasks alone can keep the browser from
    // drawing, so at most one slice runs per frame while a backlog lasts.
    if (this.jobs.length > 0) {
      this.scheduled = true;
      requestAnimationFrame(() => this.channel.port2.postMessage(null));
    }
  }
}
