// The packages an operator needs at run time: its production dependencies, found by walking package.json
// files through Node's own resolution (workspace packages included), so an image carries nothing else.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface PackageDir {
  name: string;
  /** where Node finds it (a node_modules path; for workspace packages, the link) */
  installed: string;
  /** real folder of the package */
  dir: string;
  /** a workspace package of this repository: ship its package.json and compiled output only */
  workspace: boolean;
}

function readManifest(dir: string): { name: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Where `name` resolves from `fromDir`, walking up node_modules folders as Node does. */
function locate(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Every package `root` depends on in production, transitively (not `root` itself), keyed by where Node
 * finds it, so that copying each to the same place relative to the repository reproduces the resolution.
 * `from` is where `root` is installed (its link for a workspace package).
 */
export function productionClosure(root: string, from = root): PackageDir[] {
  const found = new Map<string, PackageDir>();
  const visit = (dir: string, installed: string) => {
    const manifest = readManifest(dir);
    const deps = { ...manifest.optionalDependencies, ...manifest.dependencies };
    for (const name of Object.keys(deps).sort()) {
      // resolution starts where the package is installed, then (for workspace packages) where it really is
      const location = locate(name, installed) ?? locate(name, dir);
      if (!location) {
        if (manifest.optionalDependencies?.[name]) continue; // optional and not installed here
        throw new Error(`${manifest.name} depends on ${name}, which is not installed (run npm install)`);
      }
      if (found.has(location)) continue;
      const real = realpathSync(location);
      found.set(location, { name, installed: location, dir: real, workspace: !real.includes('/node_modules/') });
      visit(real, location);
    }
  };
  visit(realpathSync(root), from);
  return [...found.values()];
}
