/**
 * A recording of this package's client, replayed against the real client and server (issue
 * 15.3): each recorded step of the client's connection machine is made to happen for real —
 * through the same mapping from machine events to real actions as the model-based tests
 * (`performOnRealSystem`: LOGIN is a login, LINK_DOWN a cut at the `FaultProxy`, LINK_UP its
 * restore, a delay is waited out) — and after each one the real client must be in the state
 * the recording shows. A bug seen in the inspector becomes a test in one step:
 *
 *   expect(await replayRecordingOnRealClient(readFileSync('bug.json', 'utf8'), { server, proxy, observer })).toBeNull();
 */
import { RtmClient } from '../index.js';
import type { Timing } from '../../machines/timing.js';
import type { RtmServer } from '../server/index.js';
import type { FaultProxy } from './fault-proxy.js';
import type { ModelPath } from './model.js';
import { performOnRealSystem, type RealRun } from './real-actions.js';
import { recordingToPath, type Recording, type ReplayMismatch } from './recording.js';
import { readRecording, type RecordingFile } from './recording-file.js';

export interface RealReplayOptions {
  server: RtmServer;
  /** A FaultProxy in front of `server`: the replayed client dials through it. */
  proxy: FaultProxy;
  /** A logged-in client on `server` that asks about presence (some steps wait for the server to forget the user). */
  observer: RtmClient;
  /** The client's timing; by default the one recorded in its context (`context.timing`). */
  timing?: Partial<Timing>;
  /** The uid the replayed client logs in with (default: a fresh one). */
  uid?: string;
  /** How long each step may take to reach its recorded state (default 10 s). */
  stepTimeoutMs?: number;
}

export interface RealReplayMismatch extends ReplayMismatch {
  /** Says which step, what the recording shows and what the real client did. */
  message: string;
}

const text = (value: unknown): string => JSON.stringify(value);

/** The recorded context's timing of the actor (the first snapshot that carries one). */
function recordedTiming(recording: Recording, sessionId: string): Partial<Timing> | undefined {
  for (const item of recording.items) {
    if (item.sessionId !== sessionId) continue;
    const timing = (item.snapshot as { context?: { timing?: unknown } } | undefined)?.context?.timing;
    if (typeof timing === 'object' && timing !== null) return timing as Partial<Timing>;
  }
  return undefined;
}

/** The recording's connection machine actor: the one whose definition has id `connection`. */
export function connectionActorOf(recording: Recording): string {
  const ids = new Set<string>();
  for (const item of recording.items) {
    const definition = (item as { definition?: unknown }).definition;
    if (item.type !== '@xstate.actor' || typeof definition !== 'string') continue;
    try {
      if ((JSON.parse(definition) as { id?: unknown }).id === 'connection') ids.add(item.sessionId);
    } catch {
      // not a machine definition
    }
  }
  if (ids.size !== 1) throw new Error(`the recording has ${ids.size} connection machine actors (${[...ids].join(', ')}); name the one to replay`);
  return [...ids][0]!;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/**
 * Runs `path` (from `recordingToPath`) on a new RtmClient dialling through `options.proxy`.
 * Resolves null when the real client went through every recorded state, or the first step
 * where it did not; the client is logged out and stopped either way.
 */
export async function replayOnRealClient(path: ModelPath, options: RealReplayOptions & { timing: Partial<Timing> }): Promise<RealReplayMismatch | null> {
  const { server, proxy, observer, timing } = options;
  const uid = options.uid ?? `replay-${Math.random().toString(36).slice(2, 10)}`;
  const client = new RtmClient({ url: proxy.url, timing });
  const run: RealRun = { server, proxy, observer, uid, client, clientTiming: timing, tokenExpiresAt: 0, others: [] };
  const stepTimeoutMs = options.stepTimeoutMs ?? 10_000;
  try {
    for (const [index, step] of path.steps.entries()) {
      await performOnRealSystem(step, run, index, path);
      const expected = text(step.to);
      if (await until(() => text(client.actor.getSnapshot().value) === expected, stepTimeoutMs)) continue;
      const actual = client.actor.getSnapshot().value;
      return {
        index,
        event: step.event,
        expected: step.to,
        actual,
        message: `step ${index + 1} of ${path.steps.length} (${step.event.type}): the recording shows ${expected}, the real client is in ${text(actual)} after ${stepTimeoutMs} ms`,
      };
    }
    return null;
  } finally {
    await client.logout().catch(() => undefined);
    client.actor.stop();
    for (const other of run.others) {
      await other.logout().catch(() => undefined);
      other.actor.stop();
    }
    proxy.restore();
  }
}

/**
 * The one step from a recording exported by the inspector page to a test: reads the file
 * (its text, or as read already), takes its connection machine actor (or `sessionId`), and
 * replays it on the real client with the timing it was recorded with.
 */
export async function replayRecordingOnRealClient(file: string | RecordingFile, options: RealReplayOptions & { sessionId?: string }): Promise<RealReplayMismatch | null> {
  const recording = typeof file === 'string' ? readRecording(file) : file;
  const sessionId = options.sessionId ?? connectionActorOf(recording);
  const path = recordingToPath(recording, sessionId);
  const timing = options.timing ?? recordedTiming(recording, sessionId) ?? {};
  return replayOnRealClient(path, { ...options, timing });
}
