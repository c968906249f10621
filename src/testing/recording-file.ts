/**
 * The file the inspector page exports (issue 15.3): the whole recording — every actor's
 * registration (definition, name, parent), every snapshot and event with the time it was
 * received, and each actor's metadata — as versioned JSON. The page reads it back offline,
 * and `rtm-statechart/testing` replays it as a test. No DOM, no Node: both sides import it.
 *
 * A file is checked before anything uses it: its size, its format name and version, and the
 * shape of every actor and item. A bad one is an `RtmError` (`INVALID_ARGUMENT`) whose
 * message says what is wrong and where.
 */
import { RtmError } from '../errors.js';
import type { Recording, RecordingMessage } from './recording.js';

export const RECORDING_FORMAT = 'rtm-statechart-recording';
export const RECORDING_VERSION = 1;

export const RECORDING_LIMITS = {
  /** The file, as text. */
  maxBytes: 64 * 1024 * 1024,
  /** Inspection messages in one file. */
  maxItems: 250_000,
  actors: 2_000,
  /** Characters of an actor id. */
  maxIdLength: 512,
} as const;

export interface RecordedActor {
  sessionId: string;
  name: string;
  parentId: string | null;
  /** The producer that reported it (`''` for the server's own actors). */
  producer: string;
  /** The node that runs it, when actors carry one (the sequence view groups lanes by it). */
  node: string | null;
  /** When its producer had disconnected, if it had. */
  staleSince: number | null;
}

/** One inspection message as recorded: `_receivedAt` (epoch ms) is when it was received. */
export interface RecordedMessage extends RecordingMessage {
  _receivedAt: number;
  name?: string;
  parentId?: string;
  definition?: string;
  sourceId?: string;
  _delays?: Record<string, number>;
  _node?: string;
}

export interface RecordingFile extends Recording {
  format: typeof RECORDING_FORMAT;
  version: number;
  /** Epoch ms of the export. */
  exportedAt: number;
  actors: RecordedActor[];
  items: RecordedMessage[];
}

const KINDS = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= RECORDING_LIMITS.maxIdLength;
const optional = (v: unknown, test: (v: unknown) => boolean): boolean => v === undefined || v === null || test(v);

function bad(message: string): RtmError {
  return new RtmError('INVALID_ARGUMENT', `not a readable recording: ${message}`);
}

function checkActor(value: unknown, index: number): RecordedActor {
  if (!isRecord(value) || !isId(value.sessionId)) throw bad(`actors[${index}] has no sessionId`);
  if (typeof value.name !== 'string') throw bad(`actors[${index}] has no name`);
  if (!optional(value.parentId, isId) || !optional(value.node, (v) => typeof v === 'string') || !optional(value.staleSince, Number.isFinite)) {
    throw bad(`actors[${index}] has a malformed parentId, node or staleSince`);
  }
  return value as unknown as RecordedActor;
}

function checkItem(value: unknown, index: number): RecordedMessage {
  if (!isRecord(value) || typeof value.type !== 'string' || !KINDS.has(value.type)) throw bad(`items[${index}] is not an @xstate.actor, @xstate.event or @xstate.snapshot message`);
  if (!isId(value.sessionId)) throw bad(`items[${index}] has no sessionId`);
  if (typeof value._receivedAt !== 'number' || !Number.isFinite(value._receivedAt)) throw bad(`items[${index}] has no _receivedAt time`);
  if (value.type === '@xstate.actor') {
    if (!optional(value.definition, (v) => typeof v === 'string') || !optional(value.name, (v) => typeof v === 'string')) throw bad(`items[${index}] has a malformed definition or name`);
  } else {
    if (!isRecord(value.event) || typeof value.event.type !== 'string') throw bad(`items[${index}] has no event type`);
    if (value.type === '@xstate.snapshot' && !isRecord(value.snapshot)) throw bad(`items[${index}] has no snapshot`);
  }
  if (!optional(value._delays, isRecord)) throw bad(`items[${index}] has malformed _delays`);
  return value as unknown as RecordedMessage;
}

/** Checks a decoded file; returns it typed, or throws `RtmError` INVALID_ARGUMENT. */
export function checkRecordingFile(value: unknown): RecordingFile {
  if (!isRecord(value) || value.format !== RECORDING_FORMAT) throw bad(`the format field is not "${RECORDING_FORMAT}" (is this a file exported by the inspector?)`);
  if (typeof value.version !== 'number' || !Number.isInteger(value.version) || value.version < 1) throw bad('it has no version');
  if (value.version > RECORDING_VERSION) throw bad(`it is version ${value.version}; this version of rtm-statechart reads version ${RECORDING_VERSION}`);
  if (!Array.isArray(value.actors) || !Array.isArray(value.items)) throw bad('it has no actors or items list');
  if (value.actors.length > RECORDING_LIMITS.actors) throw bad(`it has ${value.actors.length} actors, more than ${RECORDING_LIMITS.actors}`);
  if (value.items.length > RECORDING_LIMITS.maxItems) throw bad(`it has ${value.items.length} messages, more than ${RECORDING_LIMITS.maxItems}`);
  value.actors.forEach(checkActor);
  value.items.forEach(checkItem);
  if (typeof value.exportedAt !== 'number') throw bad('it has no exportedAt time');
  return value as unknown as RecordingFile;
}

/** Reads an exported recording from its text; throws `RtmError` INVALID_ARGUMENT for a bad one. */
export function readRecording(text: string, options: { maxBytes?: number } = {}): RecordingFile {
  const maxBytes = options.maxBytes ?? RECORDING_LIMITS.maxBytes;
  if (typeof text !== 'string') throw bad('it is not text');
  // Characters never outnumber UTF-8 bytes, so this is checked before anything is decoded.
  if (text.length > maxBytes) throw bad(`it is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(`it is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return checkRecordingFile(value);
}
