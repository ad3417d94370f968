// Reading and writing whole files with errors that name the file and say what went wrong in words.
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Write `bytes` to `path`, creating its folder. An existing file is an error unless `overwrite`; then the bytes
 * go to a temporary file renamed over it, so readers never see a half-replaced file.
 */
export function writeNewFile(path: string, bytes: Uint8Array, overwrite: boolean): void {
  createFolderOf(path);
  try {
    if (overwrite) {
      const temporary = `${path}.tmp-${process.pid}`;
      writeRemovingOnFailure(temporary, bytes, 'w');
      try {
        renameSync(temporary, path);
      } catch (error) {
        rmSync(temporary, { force: true });
        throw error;
      }
    } else {
      // 'wx' fails when the file exists, even if another process creates it between a check and the write.
      writeRemovingOnFailure(path, bytes, 'wx');
    }
  } catch (error) {
    throw new Error(describeFsError(error, path), { cause: error });
  }
}

function createFolderOf(path: string): void {
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // mkdir meets a file where a folder should be: EEXIST for the last part, ENOTDIR for an earlier one
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? `${folder}: a part of this path is a file, not a folder` : describeFsError(error, folder);
    throw new Error(`cannot create the folder for ${path}: ${reason}`, { cause: error });
  }
}

/** Write the file; if the write itself fails (e.g. disk full), remove the partial file so no truncated output is left. */
function writeRemovingOnFailure(path: string, bytes: Uint8Array, flag: 'w' | 'wx'): void {
  const fd = openSync(path, flag);
  try {
    writeFileSync(fd, bytes);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(fd);
}

/**
 * The whole content of a file. `what` says who reads it and why, e.g. "mrc-reader: path"; it starts every error.
 * Reads with one buffer of the file's size, so files beyond readFileSync's 2 GiB limit (big tomograms) work too.
 */
export function readWholeFile(path: string, what: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`${what}: ${describeFsError(error, path)}`, { cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw new Error(`${what}: ${path} is a folder, expected a file`);
    const bytes = Buffer.allocUnsafe(stats.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) throw new Error(`${what}: ${path} shrank while being read (${read} of ${bytes.length} bytes)`);
      read += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function describeFsError(error: unknown, path: string): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EEXIST':
      return isFolder(path) ? `${path} is a folder, expected a file name` : `${path} exists (set overwrite: true to replace it)`;
    case 'ENOENT':
      return `${path}: no such file or folder`;
    case 'EISDIR':
      return `${path} is a folder, expected a file`;
    case 'ENOTDIR':
      return `${path}: a part of this path is a file, not a folder`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied`;
    case 'ENOSPC':
      return `${path}: no space left on the device`;
    default:
      return `${path}: ${(error as Error).message}`;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
