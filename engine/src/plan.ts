// Planning a run: cache keys for every node, and which nodes run, which replay cached frames.
import { nodeKey } from './hash.js';
import type { ResolvedPipeline } from './validate/pipeline.js';

export interface RunPlan {
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
}

export function planRun({ pipeline, identities, frames, cached }: PlanInput): RunPlan {
  const keys = new Map<string, string>();
  for (const id of pipeline.order) {
    const node = pipeline.document.nodes.find((n) => n.id === id)!;
    const wired = pipeline.inputs.get(id);
    const inputs = Object.fromEntries([...(wired ?? [])].map(([port, from]) => [port, `${keys.get(from.node)}:${from.port}`]));
    const limits = wired?.size ? undefined : { frames: frames ?? null };
    keys.set(id, nodeKey({ identity: identities.get(id)!, params: node.params, inputs, limits }));
  }
  const execute = pipeline.order.filter((id) => cached.get(id) !== keys.get(id));
  const executing = new Set(execute);
  const replay = pipeline.order.filter(
    (id) => !executing.has(id) && [...executing].some((e) => [...(pipeline.inputs.get(e)?.values() ?? [])].some((from) => from.node === id)),
  );
  return { keys, execute, replay };
}
