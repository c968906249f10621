/**
 * A small validator for the frames the server sends, so that the client, which reads them in
 * browsers, carries no schema library (zod/mini was most of its bundle; the server keeps zod for
 * what clients send). The API is a subset of zod's: `safeParse`, `parse`, and types inferred
 * from the schema. As with zod's objects, an object check returns only the keys it names.
 * Checking stops at the first fault, which is named with its path.
 */

/** What a check returns for a value that fails it (its fault is kept aside meanwhile). */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface Issue {
  path: Array<string | number>;
  message: string;
}

export type SafeParseResult<T> = { success: true; data: T } | { success: false; error: { issues: Issue[] } };

/** The first fault of the check under way (checks run synchronously, one at a time). */
let fault: Issue | null = null;

function invalid(message: string): Invalid {
  fault = { path: [], message };
  return INVALID;
}

/** A fault inside a container: its path starts with the key or index that led to it. */
function within(key: string | number): Invalid {
  fault?.path.unshift(key);
  return INVALID;
}

export type Run<T> = (value: unknown) => T | Invalid;

export class Schema<T> {
  declare readonly _output: T;
  readonly isOptional: boolean = false;

  constructor(readonly run: Run<T>) {}

  safeParse(value: unknown): SafeParseResult<T> {
    fault = null;
    const out = this.run(value);
    if (out !== INVALID) return { success: true, data: out };
    return { success: false, error: { issues: [fault ?? { path: [], message: 'invalid' }] } };
  }

  parse(value: unknown): T {
    const result = this.safeParse(value);
    if (result.success) return result.data;
    const [issue] = result.error.issues;
    throw new TypeError(`invalid value${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}: ${issue?.message}`);
  }
}

class OptionalSchema<T> extends Schema<T | undefined> {
  override readonly isOptional = true as const;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;
type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { isOptional: true } ? K : never }[keyof S];
type Flat<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Flat<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

export interface StringRules {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** A rule of its own, with the message of its fault. */
  refine?: readonly [(value: string) => boolean, string];
}

export function string(rules: StringRules = {}): Schema<string> {
  const { min = 0, max = Number.POSITIVE_INFINITY, pattern, refine } = rules;
  return new Schema((value) => {
    if (typeof value !== 'string') return invalid('expected a string');
    if (value.length < min) return invalid(`too short: at least ${min} characters`);
    if (value.length > max) return invalid(`too long: at most ${max} characters`);
    if (pattern && !pattern.test(value)) return invalid(`does not match ${String(pattern)}`);
    if (refine && !refine[0](value)) return invalid(refine[1]);
    return value;
  });
}

/** A safe integer, at least `min`. */
export function int(min = Number.MIN_SAFE_INTEGER): Schema<number> {
  return new Schema((value) => {
    if (!Number.isSafeInteger(value)) return invalid('expected an integer');
    return (value as number) < min ? invalid(`too small: at least ${min}`) : (value as number);
  });
}

/** A finite number, at least `min`. */
export function number(min = Number.NEGATIVE_INFINITY): Schema<number> {
  return new Schema((value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return invalid('expected a number');
    return value < min ? invalid(`too small: at least ${min}`) : value;
  });
}

export function boolean(): Schema<boolean> {
  return new Schema((value) => (typeof value === 'boolean' ? value : invalid('expected a boolean')));
}

export function unknown(): Schema<unknown> {
  return new Schema((value) => value);
}

export function literal<const V extends string | number | boolean>(expected: V): Schema<V> {
  return new Schema((value) => (value === expected ? expected : invalid(`expected ${JSON.stringify(expected)}`)));
}

export function oneOf<const V extends string>(values: readonly V[]): Schema<V> {
  const allowed = new Set<unknown>(values);
  return new Schema((value) => (allowed.has(value) ? (value as V) : invalid(`expected one of ${values.join(', ')}`)));
}

export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return new OptionalSchema((value) => (value === undefined ? undefined : schema.run(value)));
}

export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return new Schema((value) => (value === null ? null : schema.run(value)));
}

export function array<T>(item: Schema<T>, bounds: { min?: number; max?: number } = {}): Schema<T[]> {
  const { min = 0, max = Number.POSITIVE_INFINITY } = bounds;
  return new Schema((value) => {
    if (!Array.isArray(value)) return invalid('expected an array');
    if (value.length < min) return invalid(`too few items: at least ${min}`);
    if (value.length > max) return invalid(`too many items: at most ${max}`);
    const out: T[] = new Array<T>(value.length);
    for (let i = 0; i < value.length; i++) {
      const checked = item.run(value[i]);
      if (checked === INVALID) return within(i);
      out[i] = checked;
    }
    return out;
  });
}

export function tuple<const S extends readonly Schema<unknown>[]>(items: S): Schema<{ -readonly [K in keyof S]: Infer<S[K]> }> {
  return new Schema((value) => {
    if (!Array.isArray(value) || value.length !== items.length) return invalid(`expected ${items.length} items`);
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) {
      const checked = items[i]!.run(value[i]);
      if (checked === INVALID) return within(i);
      out.push(checked);
    }
    return out as { -readonly [K in keyof S]: Infer<S[K]> };
  });
}

export class ObjectSchema<S extends Shape> extends Schema<ObjectOf<S>> {
  constructor(readonly shape: S) {
    const keys = Object.keys(shape);
    super((value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('expected an object');
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const present = Object.hasOwn(input, key);
        const checked = shape[key]!.run(present ? input[key] : undefined);
        if (checked === INVALID) return within(key);
        if (present) out[key] = checked;
      }
      return out as ObjectOf<S>;
    });
  }
}

export function object<S extends Shape>(shape: S): ObjectSchema<S> {
  return new ObjectSchema(shape);
}

/** One of `options`, picked by the value of `key` (a union told apart by a discriminator, as zod's). */
export function discriminated<const O extends Record<string, Schema<unknown>>>(key: string, options: O): Schema<Infer<O[keyof O]>> {
  const byValue = new Map<string, Schema<unknown>>(Object.entries(options));
  return new Schema((value) => {
    if (typeof value !== 'object' || value === null) return invalid('expected an object');
    const tag = (value as Record<string, unknown>)[key];
    const option = typeof tag === 'string' || typeof tag === 'boolean' ? byValue.get(String(tag)) : undefined;
    if (!option) {
      invalid(`unknown ${key}`);
      return within(key);
    }
    return option.run(value) as Infer<O[keyof O]> | Invalid;
  });
}
