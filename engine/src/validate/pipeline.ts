// Pipeline documents: JSON Schema check, then the semantic checks (operators, ports, types, cycles, params).
// Pure: takes the document and the operator specs, returns problems and, when there are none, the resolved graph.
import { portAccepts, type OperatorSpec, type PortType } from '@emflow/sdk';
import type { ValidateFunction } from 'ajv';
import pipelineSchema from '../schema/pipeline.schema.json' with { type: 'json' };
import { ajv } from './ajv.js';
import { pointer, problemsFromAjv, type Problem } from './problems.js';
import { paramSchema } from './spec.js';

export interface Endpoint {
  node: string;
  port: string;
}

export interface PipelineNode {
  id: string;
  operator: string;
  label?: string;
  params: Record<string, unknown>;
  position?: { x: number; y: number };
}

export interface PipelineEdge {
  from: Endpoint;
  to: Endpoint;
}

export interface PipelineDocument {
  emflow: 1;
  name?: string;
  description?: string;
  nodes: PipelineNode[];
  edges: PipelineEdge[];
}

/** A valid pipeline with everything the scheduler needs precomputed. */
export interface ResolvedPipeline {
  document: PipelineDocument;
  specs: ReadonlyMap<string, OperatorSpec>;
  /** node ids, every node after all of its upstream nodes */
  order: readonly string[];
  /** node → input port → the output feeding it */
  inputs: ReadonlyMap<string, ReadonlyMap<string, Endpoint>>;
  /** "node.port" of an output → the inputs it feeds */
  consumers: ReadonlyMap<string, readonly Endpoint[]>;
  /** "node.port" → resolved port type (outputs with sameAs take their input's type) */
  types: ReadonlyMap<string, PortType>;
}

export type OperatorLookup = (operator: string) => OperatorSpec | undefined;

export const PIPELINE_SCHEMA_ID = pipelineSchema.$id;
const checkDocument = ajv.compile<PipelineDocument>(pipelineSchema);
const paramValidators = new Map<string, ValidateFunction>();

export const portKey = (node: string, port: string) => `${node}.${port}`;

function paramValidator(spec: OperatorSpec): ValidateFunction {
  const id = `${spec.name}@${spec.version}:${JSON.stringify(spec.params ?? {})}`;
  let validate = paramValidators.get(id);
  if (!validate) {
    const params = spec.params ?? {};
    const required = Object.entries(params)
      .filter(([, p]) => p.default === undefined && !p.optional)
      .map(([name]) => name);
    const properties = Object.fromEntries(Object.entries(params).map(([name, p]) => [name, paramSchema(p)]));
    validate = ajv.compile({ type: 'object', properties, required, additionalProperties: false });
    paramValidators.set(id, validate);
  }
  return validate;
}

/** Check params against an operator's param schema, filling in defaults (mutates `params`). */
export function checkParams(spec: OperatorSpec, params: Record<string, unknown>, at: string): Problem[] {
  const validate = paramValidator(spec);
  if (validate(params)) return [];
  const names = Object.keys(spec.params ?? {});
  return problemsFromAjv(validate.errors, at, (name) => `unknown param "${name}" of ${spec.name} (params: ${names.join(', ') || 'none'})`);
}

/** Can an output of type `from` feed an input of type `to`? */
export const canConnect = (from: PortType, to: PortType): boolean => portAccepts(to, from);

/**
 * Kahn's algorithm. Nodes left over are on a cycle or downstream of one; peeling off, in reverse, those
 * that feed no other left-over node leaves the nodes on cycles.
 */
function topologicalOrder(ids: readonly string[], edges: readonly PipelineEdge[]): { order: string[]; cyclic: string[] } {
  const indegree = new Map(ids.map((id) => [id, 0]));
  const next = new Map(ids.map((id) => [id, [] as string[]]));
  for (const e of edges) {
    indegree.set(e.to.node, (indegree.get(e.to.node) ?? 0) + 1);
    next.get(e.from.node)?.push(e.to.node);
  }
  const ready = ids.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    order.push(id);
    for (const n of next.get(id) ?? []) {
      indegree.set(n, indegree.get(n)! - 1);
      if (indegree.get(n) === 0) ready.push(n);
    }
  }
  const cyclic = new Set(ids.filter((id) => !order.includes(id)));
  for (let peeled = true; peeled; ) {
    peeled = false;
    for (const id of cyclic) {
      if (!edges.some((e) => e.from.node === id && cyclic.has(e.to.node))) {
        cyclic.delete(id);
        peeled = true;
      }
    }
  }
  return { order, cyclic: ids.filter((id) => cyclic.has(id)) };
}

export interface PipelineCheck {
  problems: Problem[];
  pipeline?: ResolvedPipeline;
}

/** Validate a parsed document. The document is cloned; defaults are filled into the clone. */
export function checkPipeline(input: unknown, lookup: OperatorLookup): PipelineCheck {
  const document = structuredClone(input) as PipelineDocument;
  if (!checkDocument(document)) return { problems: problemsFromAjv(checkDocument.errors) };
  const problems: Problem[] = [];
  const specs = new Map<string, OperatorSpec>();
  const index = new Map<string, number>();

  document.nodes.forEach((node, i) => {
    if (index.has(node.id)) {
      problems.push({ pointer: pointer('nodes', i, 'id'), message: `duplicate node id "${node.id}" (first used at /nodes/${index.get(node.id)})` });
      return;
    }
    index.set(node.id, i);
    const spec = lookup(node.operator);
    if (!spec) {
      problems.push({ pointer: pointer('nodes', i, 'operator'), message: `unknown operator "${node.operator}" (see \`emflow operators\`)` });
      return;
    }
    specs.set(node.id, spec);
    problems.push(...checkParams(spec, node.params, pointer('nodes', i, 'params')));
  });

  const inputs = new Map<string, Map<string, Endpoint>>();
  const consumers = new Map<string, Endpoint[]>();
  const wiredAt = new Map<string, number>();
  const attempted = new Set<string>();
  const goodEdges: PipelineEdge[] = [];
  document.edges.forEach((edge, i) => {
    attempted.add(portKey(edge.to.node, edge.to.port));
    let ok = true;
    for (const [side, ports] of [['from', 'outputs'], ['to', 'inputs']] as const) {
      const end = edge[side];
      if (!index.has(end.node)) {
        problems.push({ pointer: pointer('edges', i, side, 'node'), message: `unknown node "${end.node}"` });
        ok = false;
        continue;
      }
      const spec = specs.get(end.node);
      if (spec && !spec[ports]?.[end.port]) {
        const known = Object.keys(spec[ports] ?? {}).join(', ') || 'none';
        problems.push({ pointer: pointer('edges', i, side, 'port'), message: `node "${end.node}" (${spec.name}) has no ${ports.slice(0, -1)} port "${end.port}" (${ports}: ${known})` });
        ok = false;
      }
      if (!spec) ok = false;
    }
    const target = portKey(edge.to.node, edge.to.port);
    if (ok && wiredAt.has(target)) {
      problems.push({ pointer: pointer('edges', i, 'to'), message: `input ${target} is already connected by /edges/${wiredAt.get(target)}` });
      ok = false;
    }
    if (!ok) return;
    wiredAt.set(target, i);
    goodEdges.push(edge);
    if (!inputs.has(edge.to.node)) inputs.set(edge.to.node, new Map());
    inputs.get(edge.to.node)!.set(edge.to.port, edge.from);
    const source = portKey(edge.from.node, edge.from.port);
    consumers.set(source, [...(consumers.get(source) ?? []), edge.to]);
  });

  const { order, cyclic } = topologicalOrder([...index.keys()], goodEdges);
  if (cyclic.length) {
    const i = document.edges.findIndex((e) => cyclic.includes(e.from.node) && cyclic.includes(e.to.node));
    problems.push({ pointer: pointer('edges', Math.max(i, 0)), message: `the graph has a cycle through nodes ${cyclic.map((n) => `"${n}"`).join(', ')}` });
  }

  // Resolve port types in dependency order, then check each connection and each required input.
  // `types` holds outputs (what the scheduler checks frames against); inputs have their own map, since an
  // input and an output of one node may share a name.
  const types = new Map<string, PortType>();
  const inputTypes = new Map<string, PortType>();
  for (const id of order) {
    const spec = specs.get(id);
    if (!spec) continue;
    const wired = inputs.get(id) ?? new Map<string, Endpoint>();
    for (const [port, input] of Object.entries(spec.inputs ?? {})) {
      const source = wired.get(port);
      if (!source) {
        // an edge that failed its own checks already has a problem: do not call its input unconnected too
        if (input.required !== false && !attempted.has(portKey(id, port))) {
          problems.push({ pointer: pointer('nodes', index.get(id)!), message: `required input "${port}" of node "${id}" (${spec.name}) is not connected` });
        }
        inputTypes.set(portKey(id, port), input.type);
        continue;
      }
      const sourceType = types.get(portKey(source.node, source.port));
      if (sourceType && !canConnect(sourceType, input.type)) {
        problems.push({
          pointer: pointer('edges', wiredAt.get(portKey(id, port))!),
          message: `type mismatch: ${source.node}.${source.port} is ${sourceType}, input ${id}.${port} (${spec.name}) expects ${input.type}`,
        });
      }
      inputTypes.set(portKey(id, port), sourceType && canConnect(sourceType, input.type) ? sourceType : input.type);
    }
    for (const [port, output] of Object.entries(spec.outputs)) {
      // a sameAs output narrows to its input's type, within what it declares (the SDK checks the declared type)
      const follows = output.sameAs !== undefined ? inputTypes.get(portKey(id, output.sameAs)) : undefined;
      types.set(portKey(id, port), follows && canConnect(follows, output.type) ? follows : output.type);
    }
  }

  if (problems.length) return { problems };
  return { problems, pipeline: { document, specs, order, inputs, consumers, types } };
}
