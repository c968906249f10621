/** Every RtmClient runs the same provided connection machine; its runtime parts find the client. */
import { describe, expect, it } from 'vitest';
import { RtmClient } from '../../src/index.js';

describe('RtmClient connection machine', () => {
  it('two clients share one machine definition and each starts DISCONNECTED on its own actor', () => {
    const a = new RtmClient({ url: 'ws://127.0.0.1:9' });
    const b = new RtmClient({ url: 'ws://127.0.0.1:9' });
    expect(a.actor.logic).toBe(b.actor.logic);
    expect(a.actor).not.toBe(b.actor);
    expect(a.actor.system).not.toBe(b.actor.system);
    expect(a.connectionState).toBe('DISCONNECTED');
    expect(b.connectionState).toBe('DISCONNECTED');
  });
});
