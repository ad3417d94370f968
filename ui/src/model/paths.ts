// File params in documents are relative to the document's folder (the served folder) when they can be: a
// pipeline stays portable with its data beside it.

/** `path` made absolute against `base` and normalised (. and .. resolved); POSIX paths as the server lists them. */
export function resolvePath(base: string, path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith('/') ? path : `${base}/${path}`).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `path` relative to `base` when it lies inside it; otherwise as it is. */
export function relativeTo(base: string | undefined, path: string): string {
  if (base === undefined) return path;
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
