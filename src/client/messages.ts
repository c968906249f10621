/**
 * Text and raw messages between the app and the wire (issue 14.2). A raw message travels as
 * base64 in the frame's `raw` field with its description in `text`; both kinds keep to 32 KiB
 * (raw: bytes and description together), checked before anything is sent (R8).
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import { MAX_MESSAGE_BYTES, MAX_RAW_MESSAGE_BYTES, utf8Length } from '../protocol/client.js';
import type { ReceivedMessage } from './types.js';

/** The fields of a send frame that carry the message. */
export interface EncodedMessage {
  text: string;
  raw?: string;
}

function invalid(message: string): RtmError {
  return new RtmError(RtmErrorCode.INVALID_MESSAGE, message);
}

/** Checks a message the app sends (text or raw) and encodes it for the frame. */
export function encodeMessage(message: unknown): EncodedMessage {
  if (typeof message !== 'object' || message === null) throw invalid('message must be an object');
  const { text, rawMessage, description, messageType } = message as Record<string, unknown>;
  if (rawMessage === undefined) {
    if (messageType !== undefined && messageType !== 'TEXT') throw invalid('a RAW message needs rawMessage (a Uint8Array)');
    if (typeof text !== 'string') throw invalid('message.text must be a string');
    if (utf8Length(text) > MAX_MESSAGE_BYTES) throw invalid(`message.text is larger than ${MAX_MESSAGE_BYTES} bytes`);
    return { text };
  }
  if (!(rawMessage instanceof Uint8Array)) throw invalid('message.rawMessage must be a Uint8Array');
  if (messageType !== undefined && messageType !== 'RAW') throw invalid('a message with rawMessage is RAW');
  if (text !== undefined && text !== '') throw invalid('a raw message carries its text in description');
  if (description !== undefined && typeof description !== 'string') throw invalid('message.description must be a string');
  const about = description ?? '';
  if (rawMessage.byteLength + utf8Length(about) > MAX_RAW_MESSAGE_BYTES) {
    throw invalid(`rawMessage and description are larger than ${MAX_RAW_MESSAGE_BYTES} bytes`);
  }
  return { text: about, raw: toBase64(rawMessage) };
}

/** The message a received frame carries, as the app's listeners get it. */
export function decodeMessage(frame: { text: string; raw?: string | undefined }): ReceivedMessage {
  if (frame.raw === undefined) return { messageType: 'TEXT', text: frame.text };
  return { messageType: 'RAW', rawMessage: fromBase64(frame.raw), description: frame.text, text: '' };
}

/** `client.createMessage`: the message with its messageType filled in (Agora RTM 1.x). */
export function completeMessage<T>(message: T): T {
  encodeMessage(message);
  const raw = (message as { rawMessage?: unknown }).rawMessage !== undefined;
  return { ...message, messageType: raw ? 'RAW' : 'TEXT' };
}

// Browsers and Node both have btoa / atob; they work on "binary strings" (one char a byte).
const CHUNK = 0x8000;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
