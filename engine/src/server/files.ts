// The file picker's view of the data roots: folders inside a read or write root can be listed, nothing else.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { realPathOf, type PathRoots } from '../validate/roots.js';
import type { FilesResponse } from './protocol.js';

/** Entries listed per folder at most: a folder of a million files is shown in part, not sent whole. */
export const MAX_ENTRIES = 5000;

export class OutsideRootsError extends Error {
  override name = 'OutsideRootsError';
}

const inside = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** List `path` (a folder inside a root, compared by real path) or, without one, the roots themselves. */
export function listFiles(roots: PathRoots, path?: string): FilesResponse {
  const all = [...new Set([...roots.read, ...roots.write])];
  if (path === undefined || path === '') {
    return { entries: all.map((root) => ({ name: root, path: root, kind: 'folder' as const })), roots };
  }
  const folder = resolve(path);
  const real = realPathOf(folder);
  const within = all.filter((root) => inside(real, realPathOf(root)));
  if (!within.length) throw new OutsideRootsError(`"${folder.slice(0, 200)}" is outside the data folders (${all.join(', ') || 'none'})`);
  let names: { name: string; folder: boolean }[];
  try {
    names = readdirSync(folder, { withFileTypes: true })
      .filter((entry) => !entry.name.startsWith('.'))
      .map((entry) => ({ name: entry.name, folder: entry.isDirectory() || (entry.isSymbolicLink() && statSync(join(folder, entry.name), { throwIfNoEntry: false })?.isDirectory() === true) }));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OutsideRootsError(`cannot list "${folder}": ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`);
  }
  names.sort((a, b) => Number(b.folder) - Number(a.folder) || a.name.localeCompare(b.name));
  const entries = names.slice(0, MAX_ENTRIES).map(({ name, folder: isFolder }) => {
    const entryPath = join(folder, name);
    return isFolder ? { name, path: entryPath, kind: 'folder' as const } : { name, path: entryPath, kind: 'file' as const, size: statSync(entryPath, { throwIfNoEntry: false })?.size };
  });
  const above = dirname(folder);
  const parent = above !== folder && within.some((root) => inside(realPathOf(above), realPathOf(root))) ? above : undefined;
  return { path: folder, parent, entries, roots };
}
