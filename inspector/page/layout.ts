/**
 * Lays a machine graph out with ELK (layered, compound states nested, edges routed across
 * hierarchy levels) and returns absolute coordinates for every state and transition.
 */
import elkModule from 'elkjs/lib/elk.bundled.js';
import type { ELK, ELKConstructorArguments, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { MachineGraph, StateNodeView, TransitionView } from './machine-graph.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface NodeLayout extends Box {
  node: StateNodeView;
}

/** All transitions between the same two states share one arrow, labelled one per line. */
export interface EdgeLayout {
  id: string;
  transitions: TransitionView[];
  labels: string[];
  points: { x: number; y: number }[];
  labelBox: Box | null;
}

export interface ChartLayout {
  width: number;
  height: number;
  nodes: Map<string, NodeLayout>;
  edges: EdgeLayout[];
}

// elk.bundled.js is CommonJS: depending on the interop, the constructor is the module or its default.
type ElkConstructor = new (args?: ELKConstructorArguments) => ELK;
const ElkClass = ((elkModule as unknown as { default?: ElkConstructor }).default ?? elkModule) as unknown as ElkConstructor;
const elk = new ElkClass();

const CHAR_WIDTH = 7.2;
const LINE_HEIGHT = 16;
const HEADER = 28;

function textWidth(text: string): number {
  return Math.ceil(text.length * CHAR_WIDTH) + 12;
}

function atomicSize(node: StateNodeView): { width: number; height: number } {
  const lines = [node.key, ...node.targetless];
  const width = Math.max(90, ...lines.map((l, i) => textWidth(l) * (i === 0 ? 1.1 : 0.9)));
  return { width, height: 34 + node.targetless.length * LINE_HEIGHT };
}

export async function layoutGraph(graph: MachineGraph, labelFor: (t: TransitionView) => string): Promise<ChartLayout> {
  const toElk = (node: StateNodeView): ElkNode => {
    if (node.children.length === 0) return { id: node.id, ...atomicSize(node) };
    const headerLines = 1 + node.targetless.length;
    return {
      id: node.id,
      layoutOptions: {
        'elk.padding': `[top=${HEADER + (headerLines - 1) * LINE_HEIGHT},left=16,bottom=16,right=16]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${Math.max(120, ...[node.key, ...node.targetless].map(textWidth))}, 60)`,
      },
      children: node.children.map(toElk),
    };
  };
  const groups = new Map<string, { id: string; transitions: TransitionView[]; labels: string[] }>();
  for (const t of graph.transitions) {
    const key = `${t.source.id}\u0000${t.target.id}`;
    let group = groups.get(key);
    if (!group) {
      group = { id: `e${groups.size}`, transitions: [], labels: [] };
      groups.set(key, group);
    }
    group.transitions.push(t);
    const label = labelFor(t);
    if (!group.labels.includes(label)) group.labels.push(label);
  }
  const groupById = new Map([...groups.values()].map((g) => [g.id, g]));
  const edges: ElkExtendedEdge[] = [...groups.values()].map((g) => {
    const first = g.transitions[0]!;
    return {
      id: g.id,
      sources: [first.source.id],
      targets: [first.target.id],
      labels: [{ id: `${g.id}.label`, text: g.labels.join('\n'), width: Math.max(...g.labels.map(textWidth)), height: 17 * g.labels.length + 2 }],
    };
  });
  const root: ElkNode = {
    id: '__root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.spacing.nodeNode': '30',
      'elk.spacing.edgeLabel': '4',
      'elk.layered.spacing.edgeNodeBetweenLayers': '20',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
    },
    children: [toElk(graph.root)],
    edges,
  };
  const out = await elk.layout(root);

  const nodes = new Map<string, NodeLayout>();
  const offsets = new Map<string, { x: number; y: number }>([['__root', { x: 0, y: 0 }]]);
  const place = (elkNode: ElkNode, ox: number, oy: number): void => {
    const x = ox + (elkNode.x ?? 0);
    const y = oy + (elkNode.y ?? 0);
    offsets.set(elkNode.id, { x, y });
    const node = graph.nodes.get(elkNode.id);
    if (node) nodes.set(node.id, { node, x, y, width: elkNode.width ?? 0, height: elkNode.height ?? 0 });
    for (const child of elkNode.children ?? []) place(child, x, y);
  };
  for (const child of out.children ?? []) place(child, 0, 0);

  const edgeLayouts: EdgeLayout[] = [];
  const collect = (elkNode: ElkNode): void => {
    for (const edge of (elkNode.edges ?? []) as (ElkExtendedEdge & { container?: string })[]) {
      const group = groupById.get(edge.id);
      if (!group) continue;
      const origin = offsets.get(edge.container ?? elkNode.id) ?? { x: 0, y: 0 };
      const points: { x: number; y: number }[] = [];
      for (const section of edge.sections ?? []) {
        for (const p of [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]) points.push({ x: p.x + origin.x, y: p.y + origin.y });
      }
      const l = edge.labels?.[0];
      const labelBox = l && l.x !== undefined && l.y !== undefined ? { x: l.x + origin.x, y: l.y + origin.y, width: l.width ?? 0, height: l.height ?? 0 } : null;
      edgeLayouts.push({ id: group.id, transitions: group.transitions, labels: group.labels, points, labelBox });
    }
    for (const child of elkNode.children ?? []) collect(child);
  };
  collect(out);
  return { width: out.width ?? 0, height: out.height ?? 0, nodes, edges: edgeLayouts };
}
