// From a parsed document to a validated pipeline and the runtime that will start its operators: the operator
// folders the document names, the runtime's catalog, the semantic checks and, when path roots apply, the
// check that every file param stays inside them. `emflow validate`, `emflow run` and validatePipeline share it.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RuntimeName } from './runtime/index.js';
import { catalogLookup, type OperatorCatalog, type Runtime } from './runtime/runtime.js';
import { checkPipeline, type ResolvedPipeline } from './validate/pipeline.js';
import { pointer, quote, type Problem } from './validate/problems.js';
import { checkPathRoots, type PathRoots } from './validate/roots.js';

export interface PrepareOptions {
  /** a runtime name ('process' by default) or a Runtime instance (which then decides its operators alone) */
  runtime?: RuntimeName | Runtime;
  /** process runtime: folders of operator folders, besides the built-in ones and $EMFLOW_OPERATORS_PATH */
  operatorDirs?: string[];
  /** the folder relative paths in the document resolve against: its file's folder */
  baseDir: string;
  /** where file params may point; unset: anywhere the user can read and write (the CLI) */
  roots?: PathRoots;
}

export interface PreparedPipeline {
  runtime: Runtime;
  catalog: OperatorCatalog;
  /** every problem found; empty exactly when `pipeline` is set */
  problems: Problem[];
  pipeline?: ResolvedPipeline;
}

/**
 * The operator folders a document names in `"operators"`, relative to `baseDir`. With path roots (a server),
 * a document may not name any: its operators are the server's choice, not the document's.
 */
export function documentOperatorDirs(document: unknown, baseDir: string, roots?: PathRoots): { dirs: string[]; problems: Problem[] } {
  const listed = (document as { operators?: unknown } | null)?.operators;
  if (!Array.isArray(listed) || listed.length === 0) return { dirs: [], problems: [] };
  if (roots) return { dirs: [], problems: [{ pointer: '/operators', message: 'a document may not name operator folders here (the operators are chosen where the engine runs)' }] };
  const dirs: string[] = [];
  const problems: Problem[] = [];
  listed.forEach((entry, i) => {
    if (typeof entry !== 'string' || entry === '') return; // the schema check reports it
    const dir = resolve(baseDir, entry);
    if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) dirs.push(dir);
    else problems.push({ pointer: pointer('operators', i), message: `no such folder ${quote(dir)}` });
  });
  return { dirs, problems };
}

export async function preparePipeline(document: unknown, options: PrepareOptions): Promise<PreparedPipeline> {
  const { runtime: given = 'process', baseDir, roots } = options;
  // a Runtime given decides its operators alone; with roots, a document naming folders is still told so
  const own = typeof given === 'object' && !roots ? { dirs: [], problems: [] } : documentOperatorDirs(document, baseDir, roots);
  // loaded when needed: the docker client is not, to check a document against a runtime someone made
  const runtime = typeof given === 'object' ? given : (await import('./runtime/index.js')).createRuntime(given, { operatorDirs: [...(options.operatorDirs ?? []), ...own.dirs] });
  const catalog = await runtime.catalog();
  const check = checkPipeline(document, catalogLookup(catalog));
  const problems = [...own.problems, ...check.problems];
  if (check.pipeline && roots) problems.push(...checkPathRoots(check.pipeline, baseDir, roots));
  return { runtime, catalog, problems, pipeline: problems.length ? undefined : check.pipeline };
}
