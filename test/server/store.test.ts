/** The RtmStore contract run against MemoryStore, and MemoryStore's own bounds. */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import { delayedStore } from './delayed-store.js';
import { storeContract } from './store-contract.js';

storeContract('MemoryStore', () => new MemoryStore());
// R11.8: every case again against a store that answers asynchronously with random delays.
storeContract('MemoryStore behind random delays', () => delayedStore({ seed: 7, maxDelayMs: 2 }));

describe('MemoryStore bounds', () => {
  it('forgets the oldest ended-session records beyond its limit', async () => {
    const store = new MemoryStore({ endedSessionsMax: 2 });
    for (const id of ['s1', 's2', 's3']) await store.endSession('a', id, { uid: 'a', reason: 'LOGOUT', endedAt: 1 });
    expect(await store.getEndedSession('a', 's1')).toBeUndefined();
    expect(await store.getEndedSession('a', 's3')).toBeDefined();
  });
});
