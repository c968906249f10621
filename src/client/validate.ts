/** Argument checks made before anything is sent (R8): each failure is a typed RtmError. */
import { RtmError, RtmErrorCode } from '../errors.js';
import {
  ATTRIBUTE_KEY_PATTERN,
  FORBIDDEN_KEYS,
  MAX_ATTRIBUTES,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_PRESENCE_QUERY,
  isValidId,
  utf8Length,
} from '../protocol/client.js';

export function checkId(value: unknown, what: string): string {
  if (!isValidId(value)) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `${what} must be 1–64 printable ASCII characters without spaces`);
  }
  return value;
}

export function checkToken(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'token must be a non-empty string of at most 4096 characters');
  }
  return value;
}

/** `{ text }` with text of at most 32 KiB in UTF-8. */
export function checkMessage(message: unknown): string {
  const text = (message as { text?: unknown } | null | undefined)?.text;
  if (typeof text !== 'string') throw new RtmError(RtmErrorCode.INVALID_MESSAGE, 'message.text must be a string');
  if (utf8Length(text) > MAX_MESSAGE_BYTES) {
    throw new RtmError(RtmErrorCode.INVALID_MESSAGE, `message.text is larger than ${MAX_MESSAGE_BYTES} bytes`);
  }
  return text;
}

export function checkUidList(uids: unknown): string[] {
  if (!Array.isArray(uids) || uids.length === 0 || uids.length > MAX_PRESENCE_QUERY) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `expected 1–${MAX_PRESENCE_QUERY} uids`);
  }
  return uids.map((uid) => checkId(uid, 'uid'));
}

export function checkAttributes(attributes: unknown): Array<[string, string]> {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'attributes must be an object of string values');
  }
  const pairs = Object.entries(attributes as Record<string, unknown>);
  if (pairs.length > MAX_ATTRIBUTES) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `at most ${MAX_ATTRIBUTES} attributes`);
  }
  return pairs.map(([key, value]) => {
    if (!ATTRIBUTE_KEY_PATTERN.test(key) || FORBIDDEN_KEYS.has(key)) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `invalid attribute key ${JSON.stringify(key)}`);
    }
    if (typeof value !== 'string' || utf8Length(value) > MAX_ATTRIBUTE_VALUE_BYTES) {
      throw new RtmError(
        RtmErrorCode.INVALID_ARGUMENT,
        `attribute ${key} must be a string of at most ${MAX_ATTRIBUTE_VALUE_BYTES} bytes`,
      );
    }
    return [key, value];
  });
}

/** Turns [key, value] pairs from the wire into a record that no key can pollute. */
export function pairsToRecord(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return record;
}
