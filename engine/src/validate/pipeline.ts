// Pipeline documents: JSON Schema check, then the semantic checks (operators, ports, types, cycles, params).
// Pure: takes the document and the operator specs, returns problems and, when there are none, the resolved graph.
import { own, portAccepts, type OperatorSpec, type PortType } from '@emflow/sdk';
import type { ValidateFunction } from 'ajv';
import pipelineSchema from '../schema/pipeline.schema.json' with { type: 'json' };
import { ajv } from './ajv.js';
import { copyJson } from './json-value.js';
import { pointer, problemsFromAjv, quote, type Problem } from './problems.js';
import { paramSchema } from './spec.js';

export interface Endpoint {
  node: string;
  port: string;
}

/** A node run as several warm operator processes (see session/replicas.ts). */
export interface Replicas {
  min: number;
  max?: number;
  threshold?: number;
}

/** The most operator processes a node may run at once (1 for a node without replicas). */
export const mostReplicas = (replicas: Replicas | undefined) => (replicas ? Math.max(replicas.min, replicas.max ?? replicas.min) : 1);

export interface PipelineNode {
  id: string;
  operator: string;
  label?: string;
  params: Record<string, unknown>;
  replicas?: Replicas;
  position?: { x: number; y: number };
}

/** How frames on an edge wait for their consumer (see session/queues.ts). */
export interface EdgeQueue {
  policy: 'block' | 'drop-oldest' | 'latest';
  size?: number;
}

export interface PipelineEdge {
  from: Endpoint;
  to: Endpoint;
  queue?: EdgeQueue;
}

export interface PipelineDocument {
  emflow: 1;
  name?: string;
  description?: string;
  /** folders of operator folders (process runtime), relative to the document's own folder */
  operators?: string[];
  nodes: PipelineNode[];
  edges: PipelineEdge[];
  /** streaming alerts: logged and shown when processing falls further behind acquisition */
  alerts?: { lagSeconds?: number; lagFrames?: number };
  /** multi-node runs: node id → index of the host it must run on (0: the engine's) */
  placement?: { hosts?: Record<string, number> };
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
  /** "node.port" of an input → its edge's queue, where the document sets one */
  queues: ReadonlyMap<string, EdgeQueue>;
  /** "node.port" → resolved port type (outputs with sameAs take their input's type) */
  types: ReadonlyMap<string, PortType>;
}

/** The spec an operator name stands for; a string says why the name cannot be used (two operators share it). */
export type OperatorLookup = (operator: string) => OperatorSpec | string | undefined;

export const PIPELINE_SCHEMA_ID = pipelineSchema.$id;
const checkDocument = ajv.compile<PipelineDocument>(pipelineSchema);
const paramValidators = new Map<string, ValidateFunction>();
const validatorOfSpec = new WeakMap<OperatorSpec, ValidateFunction>();

export const portKey = (node: string, port: string) => `${node}.${port}`;

function paramValidator(spec: OperatorSpec): ValidateFunction {
  const known = validatorOfSpec.get(spec);
  if (known) return known;
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
  validatorOfSpec.set(spec, validate);
  return validate;
}

/** Check params against an operator's param schema, filling in defaults (mutates `params`). */
export function checkParams(spec: OperatorSpec, params: Record<string, unknown>, at: string): Problem[] {
  const validate = paramValidator(spec);
  // checked as a copy without a prototype: a param named "toString" or "valueOf" is absent unless the document
  // sets it (Ajv reads `data.name`), and a default for it is an own value, never a prototype
  const copy = Object.setPrototypeOf({ ...params }, null) as Record<string, unknown>;
  const valid = validate(copy);
  for (const name of Object.keys(copy)) {
    if (!Object.hasOwn(params, name)) Object.defineProperty(params, name, { value: copy[name], enumerable: true, writable: true, configurable: true });
  }
  if (valid) return [];
  const names = Object.keys(spec.params ?? {});
  return problemsFromAjv(validate.errors, at, (name) => `unknown param ${quote(name)} of ${spec.name} (params: ${names.join(', ') || 'none'})`);
}

/** Can an output of type `from` feed an input of type `to`? */
export const canConnect = (from: PortType, to: PortType): boolean => portAccepts(to, from);

/**
 * Kahn's algorithm, linear in nodes and edges. Nodes left over are on a cycle or downstream of one; peeling
 * off, the same way against the edges' direction, those that feed no other left-over node leaves the nodes on
 * cycles (and any between two cycles).
 */
function topologicalOrder(ids: readonly string[], edges: readonly PipelineEdge[]): { order: string[]; cyclic: string[] } {
  const at = new Map(ids.map((id, i) => [id, i]));
  const next: number[][] = ids.map(() => []);
  const previous: number[][] = ids.map(() => []);
  const indegree = new Uint32Array(ids.length);
  for (const e of edges) {
    const from = at.get(e.from.node)!;
    const to = at.get(e.to.node)!;
    next[from].push(to);
    previous[to].push(from);
    indegree[to]++;
  }
  const peel = (degree: Uint32Array, along: number[][], keep: (i: number) => boolean): number[] => {
    const done: number[] = [];
    for (let i = 0; i < ids.length; i++) if (keep(i) && degree[i] === 0) done.push(i);
    for (let head = 0; head < done.length; head++) {
      for (const j of along[done[head]]) if (keep(j) && --degree[j] === 0) done.push(j);
    }
    return done;
  };
  const order = peel(indegree, next, () => true);
  if (order.length === ids.length) return { order: order.map((i) => ids[i]), cyclic: [] };
  // left over: exactly the nodes whose indegree did not reach 0
  const left = (i: number) => indegree[i] > 0;
  const outdegree = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) if (left(i)) outdegree[i] = next[i].filter(left).length;
  const downstream = new Set(peel(outdegree, previous, left));
  return { order: order.map((i) => ids[i]), cyclic: ids.filter((_, i) => left(i) && !downstream.has(i)) };
}

/** Names for a message: quoted, at most `max` of them. */
function nameList(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => quote(n));
  return names.length > max ? `${shown.join(', ')}, … (${names.length} nodes)` : shown.join(', ');
}

export interface PipelineCheck {
  problems: Problem[];
  pipeline?: ResolvedPipeline;
}

/** Validate a parsed document. The document is copied; defaults are filled into the copy. */
export function checkPipeline(input: unknown, lookup: OperatorLookup): PipelineCheck {
  // a copy, before anything recurses into it: plain, finite JSON, MAX_DEPTH levels at most
  const copied = copyJson(input);
  if (copied.problem) return { problems: [copied.problem] };
  const document = copied.copy as PipelineDocument;
  if (!checkDocument(document)) return { problems: problemsFromAjv(checkDocument.errors) };
  const problems: Problem[] = [];
  const specs = new Map<string, OperatorSpec>();
  const index = new Map<string, number>();

  document.nodes.forEach((node, i) => {
    if (index.has(node.id)) {
      problems.push({ pointer: pointer('nodes', i, 'id'), message: `duplicate node id ${quote(node.id)} (first used at /nodes/${index.get(node.id)})` });
      return;
    }
    index.set(node.id, i);
    const spec = lookup(node.operator);
    if (!spec || typeof spec === 'string') {
      problems.push({ pointer: pointer('nodes', i, 'operator'), message: spec || `unknown operator ${quote(node.operator)} (see \`emflow operators\`)` });
      return;
    }
    specs.set(node.id, spec);
    problems.push(...checkParams(spec, node.params, pointer('nodes', i, 'params')));
  });

  const inputs = new Map<string, Map<string, Endpoint>>();
  const consumers = new Map<string, Endpoint[]>();
  const queues = new Map<string, EdgeQueue>();
  const wiredAt = new Map<string, number>();
  const attempted = new Set<string>();
  const goodEdges: PipelineEdge[] = [];
  document.edges.forEach((edge, i) => {
    attempted.add(portKey(edge.to.node, edge.to.port));
    let ok = true;
    for (const [side, ports] of [['from', 'outputs'], ['to', 'inputs']] as const) {
      const end = edge[side];
      if (!index.has(end.node)) {
        problems.push({ pointer: pointer('edges', i, side, 'node'), message: `unknown node ${quote(end.node)}` });
        ok = false;
        continue;
      }
      const spec = specs.get(end.node);
      if (spec && !own(spec[ports], end.port)) {
        const known = Object.keys(spec[ports] ?? {}).join(', ') || 'none';
        problems.push({ pointer: pointer('edges', i, side, 'port'), message: `node "${end.node}" (${spec.name}) has no ${ports.slice(0, -1)} port ${quote(end.port)} (${ports}: ${known})` });
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
    if (!consumers.has(source)) consumers.set(source, []);
    consumers.get(source)!.push(edge.to);
    if (edge.queue?.policy === 'latest' && edge.queue.size !== undefined && edge.queue.size !== 1) {
      problems.push({ pointer: pointer('edges', i, 'queue', 'size'), message: '"latest" keeps only the newest frame: leave size out (or use "drop-oldest" to keep more)' });
    }
    if (edge.queue) queues.set(target, edge.queue);
  });

  // replicas share one stream of input frames: a source has none to share, and zipped inputs are not split
  document.nodes.forEach((node, i) => {
    const replicas = node.replicas;
    if (!replicas || !specs.has(node.id)) return;
    if (replicas.max !== undefined && replicas.max < replicas.min) {
      problems.push({ pointer: pointer('nodes', i, 'replicas', 'max'), message: `max (${replicas.max}) must be at least min (${replicas.min})` });
    }
    const wired = inputs.get(node.id)?.size ?? 0;
    if (mostReplicas(replicas) > 1 && wired !== 1) {
      const why = wired === 0 ? 'a source has no input frames to share among replicas' : `replicas share one input stream; node ${quote(node.id)} has ${wired} connected inputs`;
      problems.push({ pointer: pointer('nodes', i, 'replicas'), message: why });
    }
  });

  // multi-node pins name nodes: a typo is said here, not first when a job of several hosts starts
  for (const id of Object.keys(document.placement?.hosts ?? {})) {
    if (!index.has(id)) problems.push({ pointer: pointer('placement', 'hosts', id), message: `pins node ${quote(id)}, which the pipeline does not have` });
  }

  const { order, cyclic } = topologicalOrder([...index.keys()], goodEdges);
  if (cyclic.length) {
    const onCycle = new Set(cyclic);
    const i = document.edges.findIndex((e) => onCycle.has(e.from.node) && onCycle.has(e.to.node));
    problems.push({ pointer: pointer('edges', Math.max(i, 0)), message: `the graph has a cycle through nodes ${nameList(cyclic)}` });
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
  return { problems, pipeline: { document, specs, order, inputs, consumers, queues, types } };
}
