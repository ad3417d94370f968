// Listing a folder's matching files with their size and modification time, and deciding which files have
// stopped changing: a file still being written (copied from the microscope, say) must not be read half-way.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/** File name → stamp, for the regular files (or links to them) whose names match. */
export type Listing = Map<string, FileStamp>;

/** Fails unless `folder` is an existing folder, with the operator's name and the path in the message. */
export async function checkFolder(folder: string): Promise<void> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(folder)).isDirectory();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new Error(`folder-source: folder ${folder} ${reason}`, { cause: error });
  }
  if (!isFolder) throw new Error(`folder-source: folder ${folder} is a file, expected a folder`);
}

export async function listMatchingFiles(folder: string, isMatch: (name: string) => boolean): Promise<Listing> {
  const listing: Listing = new Map();
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (entry.isDirectory() || !isMatch(entry.name)) continue;
    try {
      const stats = await stat(join(folder, entry.name));
      if (stats.isFile()) listing.set(entry.name, { size: stats.size, mtimeMs: stats.mtimeMs });
    } catch (error) {
      // removed between readdir and stat: it is simply no longer there
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return listing;
}

/** Names in code-unit order, so zero-padded numbering (mic-0001, mic-0002, …) comes out in acquisition order. */
export function byName(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The files of `current` not emitted yet whose size and mtime equal those of the `previous` check: unchanged for two
 * consecutive checks, so presumably complete. Sorted by name.
 */
export function settledFiles(previous: Listing, current: Listing, emitted: ReadonlySet<string>): string[] {
  const settled = [...current].filter(([name, now]) => {
    const before = previous.get(name);
    return !emitted.has(name) && before !== undefined && before.size === now.size && before.mtimeMs === now.mtimeMs;
  });
  return byName(settled.map(([name]) => name));
}
