/**
 * A store that answers asynchronously, as a shared store does: every call waits a random
 * 0–`maxDelayMs` ms before it runs and again before its answer is seen. Each call still runs
 * atomically on the MemoryStore inside, so the RtmStore contract holds; what changes is that
 * other sockets' work interleaves between the calls of one request. The delays come from a
 * seeded generator, so a failing run can be repeated with its seed.
 */
import { MemoryStore, type RtmStore } from '../../src/server/index.js';
import { prng } from '../seeded-random.js';

export interface DelayedStoreOptions {
  seed?: number;
  maxDelayMs?: number;
  /** Extra delay for one method's answer (after it has run), to open a chosen window. */
  slowAnswers?: Partial<Record<keyof RtmStore, number>>;
}

export function delayedStore(options: DelayedStoreOptions = {}): RtmStore {
  const inner = new MemoryStore();
  const random = prng(options.seed ?? 1);
  const maxDelayMs = options.maxDelayMs ?? 3;
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'close') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        await pause(random() * maxDelayMs);
        const answer = await method.apply(target, args);
        await pause(random() * maxDelayMs + (options.slowAnswers?.[property as keyof RtmStore] ?? 0));
        return answer;
      };
    },
  }) as RtmStore;
}
