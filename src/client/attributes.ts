/**
 * Attribute shapes and checks of the Agora RTM 1.x calls (issue 14.2): user attributes changed
 * key by key, and channel attributes with who set each one last and when.
 */
import { RtmError, RtmErrorCode } from '../errors.js';
import { ATTRIBUTE_KEY_PATTERN, FORBIDDEN_KEYS, MAX_ATTRIBUTES, type ChannelAttributeEntry } from '../protocol/client.js';

/** `{ key: value }`, as `setLocalUserAttributes` takes and `getUserAttributes` answers. */
export type AttributesMap = Record<string, string>;

export interface ChannelAttributeProperties {
  value: string;
  lastUpdateUserId: string;
  /** Server time of the last change (ms since the epoch). */
  lastUpdateTs: number;
}

/** A channel's attributes by key. */
export type ChannelAttributes = Record<string, ChannelAttributeProperties>;

export interface ChannelAttributeOptions {
  /** Send the channel's members `AttributesUpdated` with all the attributes after this change. */
  enableNotificationToChannelMembers?: boolean;
}

/** 1–32 attribute keys, each `[A-Za-z0-9_.:-]{1,32}`. */
export function checkAttributeKeys(keys: unknown): string[] {
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_ATTRIBUTES) {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `expected 1–${MAX_ATTRIBUTES} attribute keys`);
  }
  return keys.map((key: unknown) => {
    if (typeof key !== 'string' || !ATTRIBUTE_KEY_PATTERN.test(key) || FORBIDDEN_KEYS.has(key)) {
      throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, `invalid attribute key ${JSON.stringify(key)}`);
    }
    return key;
  });
}

export function notifyOption(options: ChannelAttributeOptions | undefined): boolean {
  const notify = options?.enableNotificationToChannelMembers;
  if (notify !== undefined && typeof notify !== 'boolean') {
    throw new RtmError(RtmErrorCode.INVALID_ARGUMENT, 'enableNotificationToChannelMembers must be a boolean');
  }
  return notify === true;
}

/** Wire entries to the record apps read; no key can reach a prototype. */
export function toChannelAttributes(entries: readonly ChannelAttributeEntry[]): ChannelAttributes {
  const attributes: ChannelAttributes = {};
  for (const [key, value, lastUpdateUserId, lastUpdateTs] of entries) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    Object.defineProperty(attributes, key, {
      value: { value, lastUpdateUserId, lastUpdateTs },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return attributes;
}

/** The user's attributes after a key-by-key change, as the server applies it (remove, then set). */
export function changedAttributes(
  current: ReadonlyArray<readonly [string, string]>,
  change: { set?: ReadonlyArray<readonly [string, string]>; remove?: readonly string[] },
): Array<[string, string]> {
  const next = new Map(current);
  for (const key of change.remove ?? []) next.delete(key);
  for (const [key, value] of change.set ?? []) next.set(key, value);
  return [...next];
}
