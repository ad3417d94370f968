// Params that name files (`path: 'read' | 'write'` in the spec): relative values are taken relative to the
// pipeline file's folder, so a pipeline runs the same from any working directory.
import { isAbsolute, resolve } from 'node:path';
import { own, type OperatorSpec } from '@emflow/sdk';

/** The params with every relative path value made absolute against `baseDir` (a new object). */
export function resolvePathParams(spec: OperatorSpec, params: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const resolved = { ...params };
  for (const [name, param] of Object.entries(spec.params ?? {})) {
    const value = own(resolved, name);
    // defined, not assigned: a param named "__proto__" is a value like any other
    if (param.path && typeof value === 'string' && value !== '' && !isAbsolute(value)) {
      Object.defineProperty(resolved, name, { value: resolve(baseDir, value), enumerable: true, writable: true, configurable: true });
    }
  }
  return resolved;
}

/** The files and folders a node reads and writes, as absolute paths (container runtimes mount exactly these). */
export function pathParams(spec: OperatorSpec, params: Record<string, unknown>): { path: string; access: 'read' | 'write' }[] {
  return Object.entries(spec.params ?? {}).flatMap(([name, p]) => {
    const value = own(params, name);
    return p.path && typeof value === 'string' && value !== '' ? [{ path: value, access: p.path }] : [];
  });
}
