// The two JSON-lines files through which `emflow run --resume` resumes a folder-source (see README, "Resuming"):
//   skip   (read)   one line per file processed by an earlier run, {"path": "/…/mic-0001.mrc", "frames": 1, …}, written by
//                   the engine once every result of that file's frames was written; those files are not emitted again,
//                   and frame and file numbers go on after them
//   record (write)  one line per file this run emits, {"path", "first", "frames"} (`first`: the index of its first frame
//                   in this run), appended before its first frame leaves: how the engine maps frame indices to files
import { appendFileSync, readFileSync } from 'node:fs';

export interface SkipList {
  paths: ReadonlySet<string>;
  /** files and frames the list holds: numbering goes on after them */
  files: number;
  frames: number;
}

export const NOTHING_SKIPPED: SkipList = { paths: new Set(), files: 0, frames: 0 };

/**
 * The files a skip list names. A line that is not a JSON object with a string `path` and a whole number of `frames`
 * (such as a last line cut short by a crash) is ignored: its file is processed again.
 */
export function readSkipList(path: string): SkipList {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`folder-source: skip list ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  const paths = new Set<string>();
  let frames = 0;
  for (const line of text.split('\n')) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const { path: file, frames: count } = (entry ?? {}) as { path?: unknown; frames?: unknown };
    if (typeof file !== 'string' || !Number.isSafeInteger(count) || (count as number) < 0 || paths.has(file)) continue;
    paths.add(file);
    frames += count as number;
  }
  return { paths, files: paths.size, frames };
}

export interface RecordEntry {
  path: string;
  first: number;
  frames: number;
}

/** One line, in one write (O_APPEND): a reader never sees half of it. */
export function appendRecord(record: string, entry: RecordEntry): void {
  try {
    appendFileSync(record, JSON.stringify(entry) + '\n');
  } catch (error) {
    throw new Error(`folder-source: cannot append to record file ${record} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
}
