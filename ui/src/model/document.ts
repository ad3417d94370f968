// Pure operations on pipeline documents. Documents are immutable: every edit returns a new document (sharing
// what did not change), which makes undo a matter of keeping the old ones.
import type { OperatorSpec, PipelineDocument } from '@emflow/engine/protocol';
import { uniqueId } from './ids';

export type PipelineNode = PipelineDocument['nodes'][number];
export type PipelineEdge = PipelineDocument['edges'][number];
export type Position = { x: number; y: number };

export const emptyDocument = (): PipelineDocument => ({ emflow: 1, name: 'untitled', nodes: [], edges: [] });

/** The own value of `key`: names come from documents, and "constructor" or "__proto__" must find nothing inherited. */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A copy of `record` with `key` set as an own property (a plain assignment of "__proto__" would set the prototype). */
export function withOwn<T>(record: Readonly<Record<string, T>>, key: string, value: T): Record<string, T> {
  const copy = { ...record };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

export function withoutOwn<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const copy = { ...record };
  delete copy[key];
  return copy;
}

export const edgeKey = (e: PipelineEdge) => JSON.stringify([e.from.node, e.from.port, e.to.node, e.to.port]);

/** The params a new node starts with: every default of its operator. */
export function defaultParams(spec: OperatorSpec): Record<string, unknown> {
  let params: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec.params ?? {})) if (p.default !== undefined) params = withOwn<unknown>(params, name, p.default);
  return params;
}

export function addNode(doc: PipelineDocument, spec: OperatorSpec, position: Position): { doc: PipelineDocument; id: string } {
  const id = uniqueId(spec.name, new Set(doc.nodes.map((n) => n.id)));
  const node: PipelineNode = { id, operator: spec.name, params: defaultParams(spec), position: roundPosition(position) };
  return { doc: { ...doc, nodes: [...doc.nodes, node] }, id };
}

const roundPosition = (p: Position): Position => ({ x: Math.round(p.x), y: Math.round(p.y) });

function mapNode(doc: PipelineDocument, id: string, change: (n: PipelineNode) => PipelineNode): PipelineDocument {
  return { ...doc, nodes: doc.nodes.map((n) => (n.id === id ? change(n) : n)) };
}

/** Set a param, or clear it (`undefined`). */
export function setParam(doc: PipelineDocument, id: string, name: string, value: unknown): PipelineDocument {
  return mapNode(doc, id, (n) => ({ ...n, params: value === undefined ? withoutOwn(n.params ?? {}, name) : withOwn<unknown>(n.params ?? {}, name, value) }));
}

export function moveNodes(doc: PipelineDocument, positions: ReadonlyMap<string, Position>): PipelineDocument {
  return { ...doc, nodes: doc.nodes.map((n) => (positions.has(n.id) ? { ...n, position: roundPosition(positions.get(n.id)!) } : n)) };
}

/** Remove nodes (with every edge touching them) and edges (by edgeKey). */
export function removeElements(doc: PipelineDocument, nodeIds: ReadonlySet<string>, edgeKeys: ReadonlySet<string>): PipelineDocument {
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !nodeIds.has(n.id)),
    edges: doc.edges.filter((e) => !nodeIds.has(e.from.node) && !nodeIds.has(e.to.node) && !edgeKeys.has(edgeKey(e))),
  };
}

/** Add an edge; an input takes one edge, so an edge already into the same input is replaced. */
export function connect(doc: PipelineDocument, edge: PipelineEdge): PipelineDocument {
  const into = (e: PipelineEdge) => e.to.node === edge.to.node && e.to.port === edge.to.port;
  return { ...doc, edges: [...doc.edges.filter((e) => !into(e)), edge] };
}

export function setMeta(doc: PipelineDocument, meta: { name?: string; description?: string }): PipelineDocument {
  const next = { ...doc, ...meta };
  if (next.description === '') delete next.description;
  return next;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEndpoint = (v: unknown) => isObject(v) && typeof v.node === 'string' && typeof v.port === 'string';

/**
 * A document read from a file or the server, checked just enough for the editor to show it (the engine's
 * validation says the rest): unknown fields are kept, missing params and edges become empty, and nodes without
 * a position are laid out left to right by depth.
 */
export function loadDocument(raw: unknown): PipelineDocument {
  if (!isObject(raw)) throw new Error('not a pipeline document: expected a JSON object');
  if (raw.emflow !== 1) throw new Error(`not a pipeline document: "emflow" must be 1, got ${JSON.stringify(raw.emflow) ?? 'nothing'}`);
  if (!Array.isArray(raw.nodes)) throw new Error('not a pipeline document: "nodes" must be an array');
  const edges = raw.edges ?? [];
  if (!Array.isArray(edges)) throw new Error('not a pipeline document: "edges" must be an array');
  raw.nodes.forEach((n, i) => {
    if (!isObject(n) || typeof n.id !== 'string' || typeof n.operator !== 'string') throw new Error(`node ${i + 1}: needs a string "id" and "operator"`);
    if (n.params !== undefined && !isObject(n.params)) throw new Error(`node ${JSON.stringify(n.id)}: "params" must be an object`);
  });
  edges.forEach((e, i) => {
    if (!isObject(e) || !isEndpoint(e.from) || !isEndpoint(e.to)) throw new Error(`edge ${i + 1}: needs "from" and "to", each with a string "node" and "port"`);
  });
  const doc = { ...raw, edges } as unknown as PipelineDocument;
  const nodes = doc.nodes.map((n) => ({ ...n, params: n.params ?? {} }));
  return { ...doc, nodes: layoutMissing(nodes, doc.edges) };
}

/** Positions for nodes that have none: column by longest path from a source, row by order within the column. */
function layoutMissing(nodes: PipelineNode[], edges: readonly PipelineEdge[]): PipelineNode[] {
  if (nodes.every((n) => n.position)) return nodes;
  const depth = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  // relaxation bounded by the node count: cycles (invalid anyway) cannot loop forever
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of edges) {
      const d = (depth.get(e.from.node) ?? 0) + 1;
      if (depth.has(e.to.node) && d > depth.get(e.to.node)! && d < nodes.length) {
        depth.set(e.to.node, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  return nodes.map((n) => {
    if (n.position) return n;
    const column = depth.get(n.id) ?? 0;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    return { ...n, position: { x: column * 260, y: row * 160 } };
  });
}
