/**
 * What the inspector lets through (issue 12): secrets are redacted before a message is stored or
 * leaves the process, and a producer's message is bounded in depth before anything walks it
 * recursively (JSON.stringify throws RangeError on deeply nested values, which would escape into
 * the process that embeds the inspector). No Node APIs here: the page's producer uses it too.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are credentials (`token`, `accessToken`, `password`, `authorization`, …). */
const SECRET_KEY = /token|secret|passw(?:or)?d|passphrase|authori[sz]ation|cookie|credential|api[-_]?key|private[-_]?key/i;
/** A compact JWT anywhere (our login tokens are HS256 JWTs), whatever its key. */
const JWT_VALUE = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/;
/** `Bearer …` strings carry a credential too. */
const BEARER_VALUE = /^bearer\s+\S/i;

/**
 * Whether `value` under `key` must not leave the process. Only non-empty strings are secrets:
 * flags whose names mention a token (`tokenExpiryAnnounced: true`) stay readable, and so do the
 * transitions of a machine definition (`on: { RENEW_TOKEN: {…} }`), whose values are objects.
 */
export function isSecret(key: string | undefined, value: unknown): boolean {
  if (typeof value !== 'string' || value.length === 0) return false;
  if (key !== undefined && SECRET_KEY.test(key)) return true;
  return JWT_VALUE.test(value) || BEARER_VALUE.test(value);
}

export type SanitizeResult = { ok: true } | { ok: false; reason: string };

/**
 * Redacts secrets in a decoded JSON value, in place, and checks that it nests at most
 * `maxDepth` levels. Iterative, so a hostile value cannot exhaust the stack here either.
 */
export function sanitizeJson(root: unknown, maxDepth: number): SanitizeResult {
  if (typeof root !== 'object' || root === null) return { ok: true };
  const stack: Array<[Record<string, unknown> | unknown[], number]> = [[root as Record<string, unknown>, 1]];
  while (stack.length > 0) {
    const [container, depth] = stack.pop()!;
    const isArray = Array.isArray(container);
    const keys = isArray ? container.map((_v, i) => i) : Object.keys(container);
    for (const key of keys) {
      const value = (container as Record<string | number, unknown>)[key];
      if (isSecret(isArray ? undefined : (key as string), value)) {
        (container as Record<string | number, unknown>)[key] = REDACTED;
      } else if (typeof value === 'object' && value !== null) {
        if (depth >= maxDepth) return { ok: false, reason: `nested deeper than ${maxDepth} levels` };
        stack.push([value as Record<string, unknown>, depth + 1]);
      }
    }
  }
  return { ok: true };
}

/**
 * Whether JSON text nests deeper than `maxDepth` brackets, read without parsing it: parsing a
 * 4 MiB frame of `[[[[…` would hold the event loop (and every RTM session) for half a second.
 */
export function jsonTextTooDeep(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
