/**
 * Draws a machine as a Mermaid `stateDiagram-v2`, from its definition alone, so the diagram in
 * the README is generated and cannot drift from the chart (a test compares them).
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

type DelayFn = (args: { context: unknown; event: unknown }) => number;

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * `xstate.after.loginTimeout.connection.CONNECTING` → `after loginTimeout (6 s)`: the delay's
 * name, and its value for the machine's initial context (the default timing).
 */
function eventLabel(eventType: string, delays: Record<string, DelayFn | number>, context: unknown): string {
  const match = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (!match) return eventType;
  const delay = match[1] ?? '';
  if (/^\d+$/.test(delay)) return `after ${seconds(Number(delay))}`;
  const impl = delays[delay];
  const ms = typeof impl === 'function' ? impl({ context, event: { type: eventType } }) : impl;
  return typeof ms === 'number' ? `after ${delay} (${seconds(ms)})` : `after ${delay}`;
}

/** The context a machine starts with for `input`, without starting it. */
function resolveInitialContext(machine: AnyStateMachine, input: unknown): unknown {
  const context = machine.config.context;
  return typeof context === 'function' ? (context as (a: { input: unknown }) => unknown)({ input }) : context;
}

/** `tokenRefused`, `refusedAs(REJECTED)`, `refusedAs(INVALID_TOKEN, INVALID_ARGUMENT) and tokenStillCurrent`. */
function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const parts = (guard as { guards?: unknown[] }).guards;
    const joiner = (guard as { name?: string }).name === 'or' ? ' or ' : ' and ';
    return parts ? parts.map(guardLabel).join(joiner) : 'guard';
  }
  const { type, params } = (guard ?? {}) as { type?: string; params?: unknown };
  if (!type) return 'guard';
  const codes = (params as { codes?: unknown } | undefined)?.codes;
  return Array.isArray(codes) ? `${type}(${codes.join(', ')})` : type;
}

function nodeName(node: AnyStateNode): string {
  return node.path.join('_') || node.machine.id;
}

export function toMermaid(machine: AnyStateMachine, input: unknown = {}): string {
  const lines: string[] = ['stateDiagram-v2'];
  const delays = (machine.implementations.delays ?? {}) as Record<string, DelayFn | number>;
  const context = resolveInitialContext(machine, input);

  const draw = (node: AnyStateNode, indent: string): void => {
    const children = Object.values(node.states) as AnyStateNode[];
    const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
    if (initial) lines.push(`${indent}[*] --> ${nodeName(initial)}`);
    for (const child of children) {
      const name = nodeName(child);
      if (child.key !== name) lines.push(`${indent}state "${child.key}" as ${name}`);
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}state ${name} {`);
        draw(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
      if (child.type === 'final') lines.push(`${indent}${name} --> [*]`);
    }
  };
  draw(machine.root, '  ');

  // Transitions last, at the top level, so that arrows may cross compound-state borders.
  const walk = (node: AnyStateNode): void => {
    for (const [eventType, transitions] of node.transitions) {
      const seen = new Set<string>();
      for (const t of transitions) {
        const label = eventLabel(eventType, delays, context) + (t.guard ? ` [${guardLabel(t.guard)}]` : '');
        for (const target of (t.target ?? []) as AnyStateNode[]) {
          const line = `  ${nodeName(node)} --> ${nodeName(target)}: ${label}`;
          if (!seen.has(line)) lines.push(line);
          seen.add(line);
        }
      }
    }
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root);
  return lines.join('\n');
}
