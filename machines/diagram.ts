/**
 * Draws a machine as a Mermaid `stateDiagram-v2`, from its definition alone, so the diagram in
 * the README is generated and cannot drift from the chart (a test compares them).
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** `xstate.after.loginTimeout.connection.CONNECTING` → `after loginTimeout`. */
function eventLabel(eventType: string, delays: Record<string, unknown>): string {
  const match = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (!match) return eventType;
  const delay = match[1] ?? '';
  return /^\d+$/.test(delay) || delay in delays ? `after ${delay}` : `after ${delay}`;
}

function nodeName(node: AnyStateNode): string {
  return node.path.join('_') || node.machine.id;
}

export function toMermaid(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  const delays = (machine.implementations.delays ?? {}) as Record<string, unknown>;

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
        const label = eventLabel(eventType, delays) + (t.guard ? ` [${typeof t.guard === 'string' ? t.guard : (t.guard as { type?: string }).type ?? 'guard'}]` : '');
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
