import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { connectionMachine, linkMachine } from '../../machines/index.js';
import { toMermaid } from '../../machines/diagram.js';
import { readmePath, withDiagrams } from '../../scripts/machine-diagram.js';

describe('README state diagram', () => {
  it('is the one generated from the machine definitions (run `npm run machine:diagram` after changing a machine)', () => {
    const readme = readFileSync(readmePath, 'utf8');
    expect(withDiagrams(readme)).toBe(readme);
  });

  it('draws every state and every transition with its event or named delay', () => {
    const mermaid = toMermaid(connectionMachine);
    const walk = (node: AnyStateNode): void => {
      if (node.path.length > 0) expect(mermaid).toContain(node.path.join('_'));
      for (const [eventType, transitions] of node.transitions) {
        for (const t of transitions) if (t.target?.length) expect(mermaid).toContain(eventType.startsWith('xstate.after') ? eventType.split('.')[2] : eventType);
      }
      Object.values(node.states).forEach((child) => walk(child as AnyStateNode));
    };
    walk(connectionMachine.root);
    expect(mermaid).toContain('after loginTimeout (6 s)');
    expect(mermaid).toContain('after interruptionGrace (4 s)');
  });

  it('16 the README draws the link machine too: its states, its transitions and its named delays', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const mermaid = toMermaid(linkMachine);
    expect(readme).toContain(mermaid);
    for (const state of ['idle', 'attempt_dialing', 'attempt_authenticating', 'attempt_up', 'backingOff', 'halted']) {
      expect(mermaid).toContain(state);
    }
    expect(mermaid).toContain('after attemptTimeout (2 s)');
    expect(mermaid).toContain('attempt_up --> attempt: SILENT');
    expect(mermaid).toContain('after backoff (0.375 s)');
    expect(mermaid).toContain('REFUSED [refusedAs(TOKEN_EXPIRED) and tokenStillCurrent]');
  });
});
