/**
 * A machine's definition as plain JSON that XState's `createMachine` and Stately's tools both
 * import (R10): the config literal the machine was created from — states, `initial`,
 * `on`/`after`/`always`, guards, actions and delays by name — its initial context when that is
 * plain data, and the value of every named delay for that context under a top-level `delays`
 * key. `createMachine` ignores that key; pass it back as `createMachine(definition, { delays:
 * definition.delays })` to run the imported machine with the default timing.
 *
 * `machine.toJSON()` is not this: it is the resolved state-node tree (initial as an object,
 * delays turned into `xstate.after.*` events), which neither createMachine nor Stately imports.
 */
import type { AnyStateMachine } from 'xstate';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface MachineDefinition {
  id: string;
  /** The context the machine starts with, present only when it is plain data for `input`. */
  context?: Json;
  /** Milliseconds of each named delay, for the initial context (the default timing). */
  delays: Record<string, number>;
  [key: string]: Json | undefined;
}

export interface DefinitionOptions {
  /** The machine input the initial context and the delays are resolved for (default `{}`). */
  input?: unknown;
}

type DelayImplementation = number | ((args: { context: unknown; event: { type: string } }, params: unknown) => unknown);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Plain data only: no functions, no undefined, no class instances, no non-finite numbers. */
function isJson(value: unknown): value is Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  return isPlainObject(value) && Object.values(value).every(isJson);
}

/**
 * Copies a piece of the config, leaving out keys whose value is undefined. Anything else that
 * is not plain data (an inline action, guard or actor) cannot be imported by name, so it is an
 * error rather than something silently left out.
 */
function toJson(value: unknown, path: string): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.map((item, i) => toJson(item, `${path}[${i}]`));
  if (isPlainObject(value)) {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toJson(item, `${path}.${key}`);
    }
    return out;
  }
  const what = typeof value === 'function' ? 'an inline function' : `${String(value)}, which is not plain data,`;
  throw new TypeError(`machine config has ${what} at ${path}; name it in setup() so that it can be exported by name`);
}

function initialContext(machine: AnyStateMachine, input: unknown): unknown {
  const context: unknown = machine.config.context;
  return typeof context === 'function' ? (context as (args: { input: unknown }) => unknown)({ input }) : context;
}

function delayValues(machine: AnyStateMachine, context: unknown): Record<string, number> {
  const delays = (machine.implementations.delays ?? {}) as Record<string, DelayImplementation>;
  const values: Record<string, number> = {};
  for (const [name, delay] of Object.entries(delays)) {
    const ms = typeof delay === 'function' ? delay({ context, event: { type: 'xstate.init' } }, undefined) : delay;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new TypeError(`delay '${name}' of machine '${machine.id}' resolves to ${String(ms)}, not a duration in ms`);
    }
    values[name] = ms;
  }
  return values;
}

/** The importable definition of `machine` (see the module comment). */
export function machineDefinition(machine: AnyStateMachine, options: DefinitionOptions = {}): MachineDefinition {
  const input = options.input ?? {};
  const context = initialContext(machine, input);
  const definition: Record<string, Json> = { id: machine.id };
  for (const [key, value] of Object.entries(machine.config as Record<string, unknown>)) {
    if (value === undefined || key === 'id') continue;
    if (key === 'context') {
      // A function of input (the session's uid) has no JSON form; the importer starts without it.
      if (isJson(context)) definition.context = context;
      continue;
    }
    // The machine's output is computed from its context by code; Stately does not import it.
    if (key === 'output' && typeof value === 'function') continue;
    // An invoked actor (the connection machine's link) is code the importer does not have: with
    // it, the imported chart could not even start. The link's chart is drawn beside it instead.
    if (key === 'invoke') continue;
    definition[key] = toJson(value, key);
  }
  return { ...definition, id: machine.id, delays: delayValues(machine, context) };
}
