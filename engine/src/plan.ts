// Planning a run: the params every node runs with, cache keys for every node, and which nodes run and which
// replay cached frames. Pure: what the files named by path params look like now comes in as `files`.
import { nodeKey } from './hash.js';
import { sampledNodes } from './session/queues.js';
import type { ResolvedPipeline } from './validate/pipeline.js';

export interface RunPlan {
  /** node → the params it runs with: a copy taken at planning, so a later change can never mix into this run */
  params: ReadonlyMap<string, Record<string, unknown>>;
  /** node → cache key for this run */
  keys: ReadonlyMap<string, string>;
  /** nodes that execute, in dependency order */
  execute: readonly string[];
  /** nodes whose cached frames are replayed into executing consumers */
  replay: readonly string[];
}

export interface PlanInput {
  pipeline: ResolvedPipeline;
  identities: ReadonlyMap<string, string>;
  /** frame limit for source nodes (undefined: no limit) */
  frames?: number;
  /** node → key of its complete cache entry, if any */
  cached: ReadonlyMap<string, string>;
  /** node → path param → identity of the file or folder it names (size, times, inode; a folder's listing) */
  files?: ReadonlyMap<string, Record<string, string>>;
}

export function planRun({ pipeline, identities, frames, cached, files }: PlanInput): RunPlan {
  const sampled = sampledNodes(pipeline);
  const keys = new Map<string, string>();
  const params = new Map<string, Record<string, unknown>>();
  for (const node of pipeline.document.nodes) params.set(node.id, structuredClone(node.params));
  for (const id of pipeline.order) {
    const wired = pipeline.inputs.get(id);
    const inputs = Object.fromEntries([...(wired ?? [])].map(([port, from]) => [port, `${keys.get(from.node)}:${from.port}`]));
    const limits = wired?.size ? undefined : { frames: frames ?? null };
    keys.set(id, nodeKey({ identity: identities.get(id)!, params: params.get(id)!, inputs, limits, files: files?.get(id) }));
  }
  // A node runs when its key has no complete cache entry, when a node it reads from runs (whose entry may be
  // missing for other reasons: too big for the cache, or cut short by a frame limit), or when it samples a
  // stream through a dropping edge (what it saw depended on timing).
  const executing = new Set<string>();
  for (const id of pipeline.order) {
    const upstreamRuns = [...(pipeline.inputs.get(id)?.values() ?? [])].some((from) => executing.has(from.node));
    if (upstreamRuns || sampled.has(id) || cached.get(id) !== keys.get(id)) executing.add(id);
  }
  const execute = pipeline.order.filter((id) => executing.has(id));
  const replay = pipeline.order.filter(
    (id) => !executing.has(id) && execute.some((e) => [...(pipeline.inputs.get(e)?.values() ?? [])].some((from) => from.node === id)),
  );
  return { params, keys, execute, replay };
}
