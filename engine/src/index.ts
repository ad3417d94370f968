// @emflow/engine: the programmatic API. See the README's "Library API" section.
import { loadPipeline } from './pipeline-file.js';
import { createRuntime, type RuntimeName, type RuntimeOptions } from './runtime/index.js';
import { findOperator, type Runtime } from './runtime/runtime.js';
import { checkPipeline } from './validate/pipeline.js';
import type { Problem } from './validate/problems.js';

export { openSession, Session, type SessionOptions, type RunOptions, type SessionEvents } from './session/session.js';
export type { RunReport, NodeReport, NodeState, FrameEvent } from './session/run.js';
export { RunError, type RunFailure } from './session/errors.js';
export { ValidationError, formatProblems, type Problem } from './validate/problems.js';
export { InputFileError, loadPipeline } from './pipeline-file.js';
export { checkPipeline, type PipelineDocument, type PipelineNode, type PipelineEdge, type ResolvedPipeline } from './validate/pipeline.js';
export { validateSpec } from './validate/spec.js';
export { createRuntime, RUNTIMES, type RuntimeName } from './runtime/index.js';
export type { Runtime, OperatorInfo, OperatorCatalog, OperatorProcess, StartRequest, SessionPaths, ExitInfo } from './runtime/runtime.js';
export { sweepStaleSessionDirs } from './session/session-dir.js';

export interface ValidateOptions extends RuntimeOptions {
  runtime?: RuntimeName | Runtime;
}

/** Validate a pipeline (a parsed document or a file path) against the operators of a runtime. [] when valid. */
export async function validatePipeline(document: unknown, options: ValidateOptions = {}): Promise<Problem[]> {
  const parsed = typeof document === 'string' ? await loadPipeline(document) : document;
  const runtime = typeof options.runtime === 'object' ? options.runtime : createRuntime(options.runtime ?? 'process', options);
  const catalog = await runtime.catalog();
  return checkPipeline(parsed, (name) => findOperator(catalog, name)?.spec).problems;
}
export { spawnOperatorProcess } from './runtime/local-process.js';
export { resolvePathParams, pathParams } from './path-params.js';
export { DockerRuntime, connectDocker } from './runtime/docker.js';
export { ProcessRuntime } from './runtime/process.js';
export { buildImages, operatorTag } from './build/images.js';
