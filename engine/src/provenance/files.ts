// The file system side of the run record: hashing, what a read param names, what writers left behind, and
// writing the record itself (atomically, never through a symbolic link).
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewFile } from '@emflow/formats';
import { patternFolder, patternRegExp, type HashedFile } from './record.js';

/** `sha256:<hex>` of a file's bytes, read as a stream (inputs may be many gigabytes). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(`sha256:${hash.digest('hex')}`));
  });
}

const reason = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** The file with its size and hash, or the reason it could not be read. */
export async function hashed<T extends HashedFile>(file: T): Promise<T> {
  try {
    const size = statSync(file.path).size;
    return { ...file, size, sha256: await sha256File(file.path) };
  } catch (error) {
    return { ...file, error: reason(error) };
  }
}

/** The file with its size only (a record written in a hurry: Ctrl-C). */
export function sized<T extends HashedFile>(file: T): T {
  try {
    return { ...file, size: statSync(file.path).size };
  } catch (error) {
    return { ...file, error: reason(error) };
  }
}

/**
 * The files a read param names: the file itself, or for a folder every regular file directly in it (sources read
 * one level), in name order. What does not exist is listed with its error.
 */
export function filesNamedBy(path: string): { path: string; error?: string }[] {
  try {
    if (!statSync(path).isDirectory()) return [{ path }];
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isFile() || (entry.isSymbolicLink() && statSync(join(path, entry.name), { throwIfNoEntry: false })?.isFile()))
      .map((entry) => entry.name)
      .sort()
      .map((name) => ({ path: join(path, name) }));
  } catch (error) {
    return [{ path, error: reason(error) }];
  }
}

const signature = (path: string): string | undefined => {
  const s = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  return s?.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : undefined;
};

/** The regular files a writer's name pattern matches right now, each with a stat signature (compare before and after a run). */
export function patternSnapshot(pattern: string): Map<string, string> {
  const matches = patternRegExp(pattern);
  const { folder, depth } = patternFolder(pattern);
  const found = new Map<string, string>();
  const walk = (dir: string, level: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // not there (yet): nothing written
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && level < depth) walk(path, level + 1);
      else if (level === depth && entry.isFile() && matches.test(path) && !entry.name.startsWith('.emflow-')) {
        const s = signature(path);
        if (s) found.set(path, s);
      }
    }
  };
  walk(folder, 0);
  return found;
}

/** Write a JSON document atomically (an exclusive temporary renamed over the target); a symbolic link there is refused. */
export function writeJsonFile(path: string, value: unknown): void {
  writeNewFile(path, Buffer.from(JSON.stringify(value, null, 2) + '\n'), true);
}
