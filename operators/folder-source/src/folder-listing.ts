// Listing a folder's matching files with their size, modification time and inode: the stamps by which a watch
// (watch.ts) tells that a file has stopped changing.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileStamp {
  size: number;
  mtimeMs: number;
  /** a file replaced by another of the same size and time is another file */
  ino?: number;
}

export const sameStamp = (a: FileStamp, b: FileStamp) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

/** The stamp of a regular file (or a link to one); undefined when it is gone or no longer a file. */
export async function stampOf(path: string): Promise<FileStamp | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino } : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
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
    // removed between readdir and stat: it is simply no longer there
    const stamp = await stampOf(join(folder, entry.name));
    if (stamp) listing.set(entry.name, stamp);
  }
  return listing;
}

/** Names in code-unit order, so zero-padded numbering (mic-0001, mic-0002, …) comes out in acquisition order. */
export function byName(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
