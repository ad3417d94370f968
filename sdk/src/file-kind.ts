// What kind of file a path names, and opening only regular files for reading: a FIFO blocks its reader, a device
// such as /dev/zero never ends, a folder has no bytes, and files in /proc report size 0 whatever they hold.
// Readers refuse all of these up front, saying what the path is and what was expected, without reading a byte.
import { closeSync, constants, fstatSync, openSync, statfsSync, statSync, type Stats } from 'node:fs';

/** What `stats` (from stat, lstat or fstat) describes, in words: "a FIFO", "a character device", … */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/** A path that is not a regular file with content. `reason` says what it is ("is a FIFO, not a regular file"). */
export class NotARegularFileError extends Error {
  override name = 'NotARegularFileError';
  constructor(
    readonly path: string,
    readonly reason: string,
    /** what the reader expected, e.g. "an MRC file" */
    readonly expected: string,
  ) {
    super(`${path} ${reason} (expected ${expected})`);
  }
}

/** statfs types of the kernel's own file systems, whose files report size 0 whatever they hold (linux/magic.h). */
const PROC_SUPER_MAGIC = 0x9fa0;
const SYSFS_MAGIC = 0x62656572;

function isProcOrSys(path: string): boolean {
  try {
    const { type } = statfsSync(path);
    return type === PROC_SUPER_MAGIC || type === SYSFS_MAGIC;
  } catch {
    return false;
  }
}

function checkKind(path: string, stats: Stats, expected: string): void {
  if (stats.isFile()) {
    if (stats.size === 0) throw new NotARegularFileError(path, isProcOrSys(path) ? 'is a file of /proc or /sys, not a regular file' : 'is an empty file', expected);
    return;
  }
  const reason = stats.isDirectory() ? 'is a folder, not a file' : `is ${fileKind(stats)}, not a regular file`;
  throw new NotARegularFileError(path, reason, expected);
}

/**
 * Open `path` for reading when it is a regular file that is not empty; otherwise throw a NotARegularFileError that
 * says what it is and what was `expected` ("an MRC file"). Links are followed. The kind is checked before opening
 * (opening a device can have effects of its own) and again on the open descriptor, in case the path changed in
 * between; the open does not block (O_NONBLOCK), so not even a FIFO swapped in meanwhile can hang the caller. Errors
 * of stat and open themselves (ENOENT, EACCES, …) are thrown as they are. The caller closes `fd`.
 */
export function openRegularFile(path: string, expected: string): { fd: number; size: number } {
  checkKind(path, statSync(path), expected);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = fstatSync(fd);
    checkKind(path, stats, expected);
    return { fd, size: stats.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Throw as openRegularFile does unless `path` is a regular file with content; reads nothing. */
export function checkRegularFile(path: string, expected: string): void {
  closeSync(openRegularFile(path, expected).fd);
}
