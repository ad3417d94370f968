// Edge queues: how frames wait for a consumer. `block` (the default) keeps every frame, and a full ring makes
// the producer wait; `drop-oldest` keeps at most `size` waiting frames and drops the oldest; `latest` keeps
// only the newest (drop-oldest with size 1). A display or monitor branch on a dropping edge samples a stream
// without ever slowing the branch that processes every frame. Pure functions over the resolved pipeline.
import { mostReplicas, portKey, type EdgeQueue, type ResolvedPipeline } from '../validate/pipeline.js';

/** Frames a dropping queue keeps waiting, or undefined for a blocking one (it keeps them all). */
export function keptFrames(queue: EdgeQueue | undefined): number | undefined {
  if (!queue || queue.policy === 'block') return undefined;
  return queue.policy === 'latest' ? 1 : (queue.size ?? 1);
}

/** Nodes fed through a dropping edge: what they see depends on timing, so they are never served from the cache. */
export function sampledNodes(pipeline: ResolvedPipeline): Set<string> {
  const sampled = new Set<string>();
  for (const [key, queue] of pipeline.queues) if (keptFrames(queue) !== undefined) sampled.add(key.slice(0, key.lastIndexOf('.')));
  return sampled;
}

/**
 * Slots an output port's ring may have in flight: `ringSize` (or a blocking edge's larger `size`) for the
 * consumers that block, one more for each replica a consumer may run beyond its first (each holds the frame
 * it processes), plus, for each dropping consumer, the frames it keeps and the one it is processing, so that a
 * dropping consumer never holds back the producer.
 */
export function ringCapacity(pipeline: ResolvedPipeline, node: string, port: string, ringSize: number): number {
  let blocking = ringSize;
  let dropping = 0;
  for (const consumer of pipeline.consumers.get(portKey(node, port)) ?? []) {
    const queue = pipeline.queues.get(portKey(consumer.node, consumer.port));
    const kept = keptFrames(queue);
    const extra = mostReplicas(pipeline.document.nodes.find((n) => n.id === consumer.node)?.replicas) - 1;
    if (kept === undefined) blocking = Math.max(blocking, (queue?.size ?? ringSize) + extra);
    else dropping += kept + 1 + extra;
  }
  return blocking + dropping;
}
