// Path roots: where file params may point when the engine serves people who are not its own user (the editor
// server). Every `path: 'read'` param must resolve inside a read or write root, every `path: 'write'` param
// inside a write root. Paths are compared as the system will open them: the real path of their longest
// existing prefix (symlinks followed, `..` taken after them, as the kernel does), then the rest.
// Checked when a pipeline is validated or its params change; a link swapped in between is not caught.
import { realpathSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { own, type OperatorSpec } from '@emflow/sdk';
import type { ResolvedPipeline } from './pipeline.js';
import { clip, pointer, quote, type Problem } from './problems.js';

export interface PathRoots {
  /** folders whose files params may read */
  read: string[];
  /** folders params may write into (and read from) */
  write: string[];
}

/**
 * Where `path` really is: the real path of its longest existing prefix, with the rest appended. The prefix is
 * cut from the path as written, not from a normalized one: `link/../x` is where the link's parent is.
 */
export function realPathOf(path: string): string {
  const absolute = isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`;
  const parts = absolute.split(sep);
  for (let keep = parts.length; keep > 0; keep--) {
    const head = parts.slice(0, keep).join(sep) || sep;
    try {
      return join(realpathSync.native(head), ...parts.slice(keep));
    } catch {
      // missing (or unreadable): try the folder above
    }
  }
  return resolve(absolute);
}

const inside = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** Problems with the file params of one node's params (relative values taken against `baseDir`). */
export function pathRootProblems(spec: OperatorSpec, params: Record<string, unknown>, at: string, baseDir: string, roots: PathRoots): Problem[] {
  const readable = [...roots.read, ...roots.write].map(realPathOf);
  const writable = roots.write.map(realPathOf);
  const problems: Problem[] = [];
  for (const [name, param] of Object.entries(spec.params ?? {})) {
    const value = own(params, name);
    if (!param.path || typeof value !== 'string' || value === '') continue;
    const real = realPathOf(isAbsolute(value) ? value : `${baseDir}${sep}${value}`);
    const allowed = param.path === 'write' ? writable : readable;
    if (allowed.some((root) => inside(real, root))) continue;
    const list = (param.path === 'write' ? roots.write : [...roots.read, ...roots.write]).map((r) => clip(r)).join(', ') || 'none';
    problems.push({
      pointer: `${at}${pointer(name)}`,
      message: `${quote(value)} is outside the allowed folders for ${param.path === 'write' ? 'writing' : 'reading'} (it is ${quote(real)}; allowed: ${list})`,
    });
  }
  return problems;
}

/** Problems with the file params of every node of a validated pipeline. */
export function checkPathRoots(pipeline: ResolvedPipeline, baseDir: string, roots: PathRoots): Problem[] {
  return pipeline.document.nodes.flatMap((node, i) => {
    const spec = pipeline.specs.get(node.id);
    return spec ? pathRootProblems(spec, node.params, pointer('nodes', i, 'params'), baseDir, roots) : [];
  });
}
