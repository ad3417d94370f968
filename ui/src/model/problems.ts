// Where a validation problem belongs in the editor: its JSON pointer names a node (/nodes/<i>/…), a param of a
// node (/nodes/<i>/params/<name>), an edge (/edges/<j>/…) or the document. Problems are located against the
// document they were found in (indices shift as the user edits) and then kept by node id and edge key, in
// Maps: node ids and param names are user data ("__proto__" included) and never index plain objects.
import type { PipelineDocument, Problem } from '@emflow/engine/protocol';
import { edgeKey } from './document';

export interface LocatedProblem extends Problem {
  node?: string;
  param?: string;
  /** edgeKey of the edge */
  edge?: string;
  /** the place in words, for the problems panel */
  where: string;
}

export interface ProblemIndex {
  /** node id → every problem of the node, its params included */
  nodes: Map<string, LocatedProblem[]>;
  /** node id → param name → problems of that param */
  params: Map<string, Map<string, LocatedProblem[]>>;
  /** edgeKey → problems */
  edges: Map<string, LocatedProblem[]>;
  /** problems that name no node or edge */
  document: LocatedProblem[];
}

/** The segments of a JSON pointer, unescaped (~1 is "/", ~0 is "~"). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const arrayIndex = (segment: string | undefined) => (segment !== undefined && /^\d+$/.test(segment) ? Number(segment) : undefined);

// the engine reports a missing required param at /nodes/<i>/params with this message
const MISSING_PARAM = /^missing required field "(.+)"$/;

export function locateProblems(problems: readonly Problem[], doc: PipelineDocument): LocatedProblem[] {
  return problems.map(({ pointer, message }) => {
    const [collection, at, field, name, ...rest] = pointerSegments(pointer);
    const i = arrayIndex(at);
    const node = collection === 'nodes' && i !== undefined ? doc.nodes[i] : undefined;
    if (node) {
      const param = field === 'params' ? (name ?? MISSING_PARAM.exec(message)?.[1]) : undefined;
      const where = [node.id, ...[field, name, ...rest].filter((s) => s !== undefined)].join(' › ');
      return { pointer, message, node: node.id, param, where };
    }
    const edge = collection === 'edges' && i !== undefined ? doc.edges[i] : undefined;
    if (edge) return { pointer, message, edge: edgeKey(edge), where: `${edge.from.node}.${edge.from.port} → ${edge.to.node}.${edge.to.port}` };
    return { pointer, message, where: pointer || 'document' };
  });
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function indexLocated(problems: readonly LocatedProblem[]): ProblemIndex {
  const index: ProblemIndex = { nodes: new Map(), params: new Map(), edges: new Map(), document: [] };
  for (const p of problems) {
    if (p.node !== undefined) {
      push(index.nodes, p.node, p);
      if (p.param !== undefined) {
        if (!index.params.has(p.node)) index.params.set(p.node, new Map());
        push(index.params.get(p.node)!, p.param, p);
      }
    } else if (p.edge !== undefined) push(index.edges, p.edge, p);
    else index.document.push(p);
  }
  return index;
}
