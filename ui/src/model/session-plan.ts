// What a change of the document means for an open session: a structural change (nodes, operators, edges,
// operator folders) needs session.open again; a change of params only is sent as session.setParams.
import type { PipelineDocument } from '@emflow/engine/protocol';
import { own } from './document';

/** Equal for two documents exactly when a session opened on one can run the other by setting params. */
export function structureKey(doc: PipelineDocument): string {
  return JSON.stringify([doc.operators ?? [], doc.nodes.map((n) => [n.id, n.operator]), doc.edges.map((e) => [e.from.node, e.from.port, e.to.node, e.to.port])]);
}

export interface ParamChange {
  node: string;
  /** params set to a new value */
  set: Map<string, unknown>;
  /** params no longer set (setParams cannot unset: the session must be opened again) */
  cleared: string[];
}

/** The params that differ between two documents of the same structure, node by node. */
export function paramChanges(before: PipelineDocument, after: PipelineDocument): ParamChange[] {
  const previous = new Map(before.nodes.map((n) => [n.id, n.params ?? {}]));
  const changes: ParamChange[] = [];
  for (const node of after.nodes) {
    const old = previous.get(node.id) ?? {};
    const now = node.params ?? {};
    const set = new Map<string, unknown>();
    for (const name of Object.keys(now)) {
      if (!Object.hasOwn(old, name) || JSON.stringify(own(old, name)) !== JSON.stringify(own(now, name))) set.set(name, own(now, name));
    }
    const cleared = Object.keys(old).filter((name) => !Object.hasOwn(now, name));
    if (set.size || cleared.length) changes.push({ node: node.id, set, cleared });
  }
  return changes;
}
