// Typed connections. Which output types may feed which input type is the engine's rule, sent as the `accepts`
// table of GET /api/operators; this module only applies it, and resolves `sameAs` outputs to the type that
// feeds their input.
import type { OperatorSpec, OperatorsResponse, PipelineDocument, PortType } from '@emflow/engine/protocol';
import { own, type PipelineEdge } from './document';

export type Accepts = OperatorsResponse['accepts'];
export type Specs = ReadonlyMap<string, OperatorSpec>;

export interface Connection {
  source: string;
  sourceHandle?: string | null;
  target: string;
  targetHandle?: string | null;
}

/** The type of every output port in the document, `sameAs` outputs resolved through what feeds their input. */
export function outputTypes(doc: PipelineDocument, specs: Specs): Map<string, Map<string, PortType>> {
  const operatorOf = new Map(doc.nodes.map((n) => [n.id, n.operator]));
  const feeding = new Map<string, PipelineEdge>();
  for (const e of doc.edges) feeding.set(JSON.stringify([e.to.node, e.to.port]), e);
  const resolved = new Map<string, Map<string, PortType>>();
  const visiting = new Set<string>();

  const typeOf = (node: string, port: string): PortType | undefined => {
    const known = resolved.get(node)?.get(port);
    if (known) return known;
    const spec = specs.get(operatorOf.get(node) ?? '');
    const out = own(spec?.outputs, port);
    if (!out) return undefined;
    const key = JSON.stringify([node, port]);
    let type = out.type;
    if (out.sameAs !== undefined && !visiting.has(key)) {
      visiting.add(key);
      const edge = feeding.get(JSON.stringify([node, out.sameAs]));
      if (edge) type = typeOf(edge.from.node, edge.from.port) ?? type;
      visiting.delete(key);
    }
    if (!resolved.has(node)) resolved.set(node, new Map());
    resolved.get(node)!.set(port, type);
    return type;
  };

  for (const n of doc.nodes) for (const port of Object.keys(specs.get(n.operator)?.outputs ?? {})) typeOf(n.id, port);
  return resolved;
}

const acceptsType = (accepts: Accepts, to: PortType, from: PortType) => (own(accepts as Record<string, PortType[]>, to) ?? []).includes(from);

/** Why this connection cannot be made, or undefined when it can. */
export function connectionProblem(c: Connection, doc: PipelineDocument, specs: Specs, accepts: Accepts): string | undefined {
  if (!c.sourceHandle || !c.targetHandle) return 'connect an output to an input';
  if (c.source === c.target) return 'a node cannot feed itself';
  const target = doc.nodes.find((n) => n.id === c.target);
  const input = own(specs.get(target?.operator ?? '')?.inputs, c.targetHandle);
  const from = outputTypes(doc, specs).get(c.source)?.get(c.sourceHandle);
  if (!input || !from) return 'unknown port';
  if (!acceptsType(accepts, input.type, from)) return `${from} → ${input.type}: ${input.type} input does not accept ${from}`;
  if (reaches(doc, c.target, c.source)) return 'this edge would make a cycle';
  return undefined;
}

/** Is `to` downstream of (or equal to) `from`? */
function reaches(doc: PipelineDocument, from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const queue = [from];
  while (queue.length) {
    const node = queue.pop()!;
    if (node === to) return true;
    for (const e of doc.edges) {
      if (e.from.node !== node || seen.has(e.to.node)) continue;
      seen.add(e.to.node);
      queue.push(e.to.node);
    }
  }
  return false;
}
