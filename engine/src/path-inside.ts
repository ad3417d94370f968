// Whether a path lies strictly inside a folder, compared as written (callers resolve links first where it matters).
import { isAbsolute, relative } from 'node:path';

/** `path` relative to `folder` when it lies inside it (not the folder itself), else undefined. */
export function pathInside(folder: string, path: string): string | undefined {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : undefined;
}
