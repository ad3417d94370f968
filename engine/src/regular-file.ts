// Reading a file a less trusted party may have put in place (an operator's folder, a shared folder): only a regular
// file is read, opened without blocking (a FIFO or a device would hang a synchronous read), and only so many bytes.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export interface RegularFileRead {
  /** the most bytes read */
  maxBytes: number;
  /** a larger file gives its last `maxBytes` bytes instead of nothing */
  tail?: boolean;
  /** follow a symbolic link in the last component (else a link is not read) */
  followLinks?: boolean;
}

/** The bytes of `path` if it is a regular file within the limits, else undefined (missing, a link, a FIFO, too large). */
export function readRegularFile(path: string, { maxBytes, tail = false, followLinks = false }: RegularFileRead): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (followLinks ? 0 : constants.O_NOFOLLOW));
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || (stats.size > maxBytes && !tail)) return undefined;
    const length = Math.min(stats.size, maxBytes);
    const bytes = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = readSync(fd, bytes, read, length - read, stats.size - length + read);
      if (n === 0) break; // the file shrank meanwhile
      read += n;
    }
    return bytes.subarray(0, read);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
