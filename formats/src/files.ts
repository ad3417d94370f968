// Reading and writing whole files with errors that name the file and say what went wrong in words.
//
// Writing never goes through a symbolic link: output folders may be shared with other users, who could plant a
// link where a writer is about to write and so make emflow overwrite a file of theirs choosing. A link at the
// target is refused; a new file is created exclusively (O_EXCL: never through a link, never over a file created
// meanwhile); a replaced file is written to a temporary with an unguessable name in the same folder, created
// exclusively, then renamed over the target (rename replaces a link itself, never what it points at).
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, parse, resolve, sep } from 'node:path';
import { fileKind, NotARegularFileError, openRegularFile } from '@emflow/sdk';

/** New files get this mode less the umask, as files any program creates. */
const FILE_MODE = 0o666;

/**
 * Write `bytes` to `path`, creating its folder. An existing file is an error unless `overwrite`; then the bytes
 * go to a temporary file renamed over it, so readers never see a half-replaced file. A symbolic link, folder or
 * other non-regular file at `path` is never written through or replaced.
 */
export function writeNewFile(path: string, bytes: Uint8Array, overwrite: boolean): void {
  createFolderOf(path);
  const refused = refusalToReplace(path);
  if (refused) throw new Error(refused);
  try {
    if (overwrite) replaceFile(path, bytes);
    // 'wx' fails when anything exists at the path, even if another process creates it between a check and the write.
    else writeRemovingOnFailure(path, bytes);
  } catch (error) {
    throw new Error(describeFsError(error, path), { cause: error });
  }
}

function replaceFile(path: string, bytes: Uint8Array): void {
  const temporary = join(dirname(path), `.emflow-${randomBytes(12).toString('hex')}.tmp`);
  writeRemovingOnFailure(temporary, bytes);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

const lstatIfAny = (path: string): Stats | undefined => {
  try {
    return lstatSync(path);
  } catch {
    return undefined; // absent, or not ours to look at: creating the file reports the latter
  }
};

/** Why what is at `path` must not be written or replaced, or undefined when nothing or a regular file is there. */
function refusalToReplace(path: string): string | undefined {
  const stats = lstatIfAny(path);
  if (!stats || stats.isFile()) return undefined;
  if (stats.isSymbolicLink()) return `${path} is a symbolic link; emflow does not write through links (remove it or choose another path)`;
  if (stats.isDirectory()) return `${path} is a folder, expected a file name`;
  return `${path} is ${fileKind(stats)}, not a regular file; emflow replaces only regular files`;
}

/**
 * Create the folders of `path` one by one. Existing links on the way are followed only when they belong to this
 * user or to the owner of the folder that holds them (the rule of Linux's protected_symlinks): a link another user
 * planted in an output folder does not lead the output elsewhere.
 */
function createFolderOf(path: string): void {
  const folder = resolve(dirname(path));
  const { root } = parse(folder);
  const me = process.getuid?.() ?? -1;
  let current = root;
  let ownerOfCurrent = statSync(root).uid;
  try {
    for (const part of folder.slice(root.length).split(sep).filter(Boolean)) {
      const parentOwner = ownerOfCurrent;
      current = join(current, part);
      let stats = lstatIfAny(current);
      if (!stats) {
        mkdirSync(current, { recursive: true }); // recursive: no error when another writer created it meanwhile
        stats = lstatSync(current);
      }
      if (stats.isSymbolicLink()) {
        if (stats.uid !== me && stats.uid !== parentOwner) {
          throw new Error(
            `${current} is a symbolic link owned by uid ${stats.uid} in a folder owned by uid ${parentOwner}; emflow follows only links of its own user or of the folder's owner`,
          );
        }
        stats = statSync(current);
      }
      if (!stats.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
      ownerOfCurrent = stats.uid;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // a file where a folder should be: EEXIST from mkdir for the last part, ENOTDIR for an earlier one
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? `${current}: a part of this path is a file, not a folder` : code ? describeFsError(error, current) : (error as Error).message;
    throw new Error(`cannot create the folder for ${path}: ${reason}`, { cause: error });
  }
}

/** Create the file exclusively and write it; if the write itself fails (e.g. disk full), remove the partial file so no truncated output is left. */
function writeRemovingOnFailure(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx', FILE_MODE);
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
 * `expected` names the kind of file ("an MRC file"): what is not a regular file with content (a FIFO, a device, a
 * folder, a /proc file, an empty file) is refused with it before a byte is read, and never blocks.
 * Reads with one buffer of the file's size, so files beyond readFileSync's 2 GiB limit (big tomograms) work too.
 */
export function readWholeFile(path: string, what: string, expected = 'a file'): Uint8Array {
  let opened: { fd: number; size: number };
  try {
    opened = openRegularFile(path, expected);
  } catch (error) {
    const reason = error instanceof NotARegularFileError ? error.message : describeFsError(error, path);
    throw new Error(`${what}: ${reason}`, { cause: error });
  }
  const { fd, size } = opened;
  try {
    const bytes = Buffer.allocUnsafe(size);
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
      return refusalToReplace(path) ?? `${path} exists (set overwrite: true to replace it)`;
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
