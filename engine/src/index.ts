// @emflow/engine: the programmatic API. See the README's "Library API" section.
import { dirname, resolve } from 'node:path';
import { loadPipeline } from './pipeline-file.js';
import { preparePipeline } from './prepare.js';
import type { RuntimeName, RuntimeOptions } from './runtime/index.js';
import type { Runtime } from './runtime/runtime.js';
import type { Problem } from './validate/problems.js';
import type { PathRoots } from './validate/roots.js';

export { openSession, Session, RunStopped, type SessionOptions, type RunOptions, type SessionEvents } from './session/session.js';
export type { RunReport, NodeReport, NodeState, FrameEvent } from './session/run.js';
export { RunError, type RunFailure } from './session/errors.js';
export { ValidationError, formatProblems, type Problem } from './validate/problems.js';
export { InputFileError, loadPipeline } from './pipeline-file.js';
export { checkPipeline, type PipelineDocument, type PipelineNode, type PipelineEdge, type ResolvedPipeline } from './validate/pipeline.js';
export { validateSpec } from './validate/spec.js';
export { createRuntime, RUNTIMES, type RuntimeName } from './runtime/index.js';
export { EnvironmentError } from './runtime/runtime.js';
export type { Runtime, OperatorInfo, OperatorCatalog, OperatorProcess, StartRequest, SessionPaths, ExitInfo } from './runtime/runtime.js';
export { sweepStaleSessionDirs } from './session/session-dir.js';
export type { LagSnapshot, NodeLag, LagAlerts } from './session/lag.js';

export interface ValidateOptions extends RuntimeOptions {
  runtime?: RuntimeName | Runtime;
  /** folder relative paths resolve against (default: the pipeline file's folder, or the working directory) */
  baseDir?: string;
  /** where file params may point (`path: 'read'` params inside read or write roots, `path: 'write'` inside write roots) */
  roots?: PathRoots;
}

/** Validate a pipeline (a parsed document or a file path) against the operators of a runtime. [] when valid. */
export async function validatePipeline(document: unknown, options: ValidateOptions = {}): Promise<Problem[]> {
  const parsed = typeof document === 'string' ? await loadPipeline(document) : document;
  const baseDir = options.baseDir ?? (typeof document === 'string' ? dirname(resolve(document)) : process.cwd());
  return (await preparePipeline(parsed, { ...options, baseDir })).problems;
}
export { preparePipeline, documentOperatorDirs, type PrepareOptions, type PreparedPipeline } from './prepare.js';
export { checkPathRoots, pathRootProblems, realPathOf, type PathRoots } from './validate/roots.js';
export { catalogLookup } from './runtime/runtime.js';
export { spawnOperatorProcess } from './runtime/local-process.js';
export { resolvePathParams, pathParams } from './path-params.js';
export { DockerRuntime, connectDocker } from './runtime/docker.js';
export { ProcessRuntime } from './runtime/process.js';
export { buildImages, operatorTag } from './build/images.js';
export { buildSifs, defaultImagesDir, findApptainer } from './build/sif.js';
export { SingularityRuntime, type SingularityOptions } from './runtime/singularity.js';
export { createEditorServer, type EditorServerOptions } from './server/app.js';
export { accessPolicy, type AccessPolicy } from './server/security.js';
