// Provenance: the run record `emflow run --out DIR` writes as DIR/emflow-run.json, and its RO-Crate export.
import { resolvePathParams } from '../path-params.js';
import { findOperator, type OperatorCatalog, type OperatorInfo } from '../runtime/runtime.js';
import type { ResolvedPipeline } from '../validate/pipeline.js';
import { RunRecorder, type RecorderOptions } from './recorder.js';

export { RunRecorder, type RecorderOptions } from './recorder.js';
export * from './record.js';

/**
 * A recorder for a validated pipeline: its document with path params made absolute against `baseDir` (as the
 * session runs it) and each node's operator as the catalog has it.
 */
export function recorderFor(pipeline: ResolvedPipeline, catalog: OperatorCatalog, baseDir: string, options: Omit<RecorderOptions, 'document' | 'specs' | 'operators' | 'order'>): RunRecorder {
  const operators = new Map<string, OperatorInfo>(pipeline.document.nodes.map((n) => [n.id, findOperator(catalog, n.operator)!]));
  const document = {
    ...pipeline.document,
    nodes: pipeline.document.nodes.map((n) => ({ ...n, params: resolvePathParams(pipeline.specs.get(n.id)!, n.params, baseDir) })),
  };
  return new RunRecorder({ ...options, document, specs: pipeline.specs, operators, order: pipeline.order });
}
