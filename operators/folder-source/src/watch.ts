// Following an acquisition: a folder checked every `interval` ms, each matching file read once it is complete,
// until a "done" marker file appears or no file has appeared or changed for `idleTimeout` ms (or for ever).
//
// A file is complete when (1) its size, mtime and inode were the same at two consecutive checks and for at least
// `stableTime` ms, (2) it decodes (a file cut short, e.g. a writer pausing between pieces, fails to: MRC and .npy
// readers check the size their header declares, TIFF strips must lie inside the file; it is read again once it
// changes), and (3) its stamp after the read is still the one before it (else it changed while being read).
// Once the marker is there or the folder is idle, a stable file that does not decode is an error.
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { byName, listMatchingFiles, sameStamp, stampOf, type FileStamp } from './folder-listing.js';

export interface WatchOptions<T> {
  folder: string;
  isMatch: (name: string) => boolean;
  /** ms between checks */
  interval: number;
  /** ms a file's stamp must stay unchanged before it is read (at least one interval: two checks) */
  stableTime: number;
  /** a file name in the folder whose appearance ends the watch once every file there has been emitted */
  doneMarker?: string;
  /** ms without a new or changed file after which the watch ends (0: never) */
  idleTimeout: number;
  /** names never emitted (already processed) */
  skip: (name: string) => boolean;
  /** read a file; a failure means "not complete yet" unless `fatal` says otherwise or the watch is ending */
  read: (name: string) => Promise<T>;
  /** names whose read failures are errors at once (e.g. an unknown file type) */
  fatal?: (name: string) => boolean;
  /** a file that did not decode and is waited for */
  notYet?: (name: string, error: Error) => void;
  /** clock, for tests */
  now?: () => number;
}

interface Watched {
  stamp: FileStamp;
  /** when this stamp was first seen */
  since: number;
  /** a read at this stamp failed: not tried again until the file changes (or the watch ends) */
  failed?: boolean;
}

export type WatchEnd = 'marker' | 'idle';

/** Each complete file once, as `{ name, value }` (value: what `read` returned); returns why it ended. */
export async function* watchFolder<T>(options: WatchOptions<T>): AsyncGenerator<{ name: string; value: T }, WatchEnd> {
  const { folder, interval, stableTime, doneMarker, idleTimeout, read } = options;
  const now = options.now ?? (() => performance.now());
  const watching = new Map<string, Watched>();
  const emitted = new Set<string>();
  // files emitted are not even looked at again: a long acquisition costs one stat per new file per check
  const isData = (name: string) => name !== doneMarker && !emitted.has(name) && options.isMatch(name) && !options.skip(name);
  let lastChange = now();
  for (;;) {
    const checkedAt = now();
    // the marker first: a file written just before it is then in this listing, never missed
    const marker = doneMarker !== undefined && (await stampOf(join(folder, doneMarker))) !== undefined;
    const listing = await listMatchingFiles(folder, isData);
    let changed = false;
    for (const [name, stamp] of listing) {
      const known = watching.get(name);
      if (!known || !sameStamp(known.stamp, stamp)) {
        watching.set(name, { stamp, since: checkedAt });
        changed = true;
      }
    }
    for (const name of watching.keys()) if (!listing.has(name)) watching.delete(name);
    if (changed) lastChange = checkedAt;
    const idle = idleTimeout > 0 && checkedAt - lastChange >= idleTimeout;
    const ending = marker || idle;
    const ready = byName(
      [...watching].filter(([, w]) => w.since < checkedAt && checkedAt - w.since >= stableTime && (ending || !w.failed)).map(([name]) => name),
    );
    for (const name of ready) {
      const entry = watching.get(name)!;
      let value: T;
      try {
        value = await read(name);
      } catch (error) {
        if (ending || options.fatal?.(name)) throw error;
        entry.failed = true;
        options.notYet?.(name, error as Error);
        continue;
      }
      const after = await stampOf(join(folder, name));
      if (!after || !sameStamp(after, entry.stamp)) {
        // written to (or replaced, or removed) while being read: seen again at the next checks
        if (after) watching.set(name, { stamp: after, since: now() });
        else watching.delete(name);
        lastChange = now();
        continue;
      }
      watching.delete(name);
      emitted.add(name);
      yield { name, value };
    }
    if (ending && watching.size === 0) return marker ? 'marker' : 'idle';
    await sleep(interval);
  }
}
