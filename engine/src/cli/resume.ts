// `emflow run FILE --resume --out DIR`: a run that goes on where an earlier one into DIR stopped (killed, failed,
// interrupted), as Nextflow's -resume does, for sources that can skip what was done: those declaring a `skip`
// param (path: read) and a `record` param (path: write), such as folder-source.
//
// DIR/.emflow-resume/<node>.jsonl is the node's journal: one line per source file whose frames have all been
// finished by every result node downstream of it (a node with an output no edge consumes, whose frames --out
// writes, or with no outputs: a writer), {"path", "frames", "at"}. The next run passes it as `skip`: those files are
// not read again and nothing is computed for them. A file counts as done only then, so a run killed at any moment
// leaves a journal of files whose every result was written; files in flight are computed again.
//
// Which frame belongs to which file: the source appends {"path", "first", "frames"} to DIR/.emflow-resume/<node>.record.jsonl
// (its `record` param) before the file's first frame leaves. Result node r has finished frames [0, count(r)) of the
// run, counted by the session's node events: on every path from the source, one result frame per source frame
// (every built-in operator after a source gives one output per input; a node giving more is detected and stops the
// journal). A branch behind a dropping edge queue samples the stream and does not hold files back.
//
// --out names continue too: a result frame's index is shifted by the frames the journal held when the run started,
// as the source numbers its frames (meta.frame, {frame} in writers' names) after the files it skips.
import { chownSync, closeSync, constants, fchownSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { own } from '@emflow/sdk';
import type { FrameEvent } from '../session/run.js';
import { portKey, type ResolvedPipeline } from '../validate/pipeline.js';
import { UsageError } from './exit.js';

export const RESUME_FOLDER = '.emflow-resume';

interface RecordEntry {
  path: string;
  first: number;
  frames: number;
}

const { O_APPEND, O_CREAT, O_NOFOLLOW, O_RDONLY, O_TRUNC, O_WRONLY } = constants;

/** A symbolic link planted where the journal or a record goes would have emflow write (or truncate) the file it points at. */
function refuseLink(path: string, kind: 'file' | 'folder'): void {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw new UsageError(`--resume: ${path} is a symbolic link; emflow writes there only into a ${kind} of its own`);
}

/** Open a file of the resume folder, never through a symbolic link (O_NOFOLLOW: the check and the open are one step). */
function openOwn(path: string, flags: number): number {
  try {
    return openSync(path, flags | O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') refuseLink(path, 'file');
    throw error;
  }
}

/** Files and frames a journal lists (the same reading as folder-source's skip list: bad lines and repeats ignored). */
export function readJournal(journal: string): { files: number; frames: number } {
  const paths = new Set<string>();
  let frames = 0;
  const fd = openOwn(journal, O_RDONLY);
  let text: string;
  try {
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  for (const line of text.split('\n')) {
    try {
      const { path, frames: count } = (JSON.parse(line) ?? {}) as { path?: unknown; frames?: unknown };
      if (typeof path !== 'string' || !Number.isSafeInteger(count) || (count as number) < 0 || paths.has(path)) continue;
      paths.add(path);
      frames += count as number;
    } catch {
      // a line cut short: its file is computed again
    }
  }
  return { files: paths.size, frames };
}

/** Reads the lines a record file gains, as they come. */
class RecordReader {
  private position = 0;
  private rest = '';

  constructor(private readonly path: string) {}

  entries(): RecordEntry[] {
    const fd = openOwn(this.path, O_RDONLY);
    try {
      const buffer = Buffer.alloc(1 << 16);
      for (let n; (n = readSync(fd, buffer, 0, buffer.length, this.position)) > 0; this.position += n) this.rest += buffer.toString('utf8', 0, n);
    } finally {
      closeSync(fd);
    }
    const lines = this.rest.split('\n');
    this.rest = lines.pop()!;
    return lines.filter((l) => l.trim()).map((line) => JSON.parse(line) as RecordEntry);
  }
}

class ResumedSource {
  readonly journal: string;
  readonly record: string;
  /** files and frames the journal held at the start */
  readonly before: { files: number; frames: number };
  /** frames of this run whose files are in the journal */
  private journaled = 0;
  private readonly pending: RecordEntry[] = [];
  private readonly reader: RecordReader;
  private stopped = false;

  constructor(
    readonly node: string,
    folder: string,
    /** result nodes downstream (the source itself when its output is not consumed) */
    readonly sinks: readonly string[],
    owner?: FileOwner,
  ) {
    this.journal = join(folder, `${node}.jsonl`);
    this.record = join(folder, `${node}.record.jsonl`);
    this.before = lstatSync(this.journal, { throwIfNoEntry: false }) ? readJournal(this.journal) : { files: 0, frames: 0 };
    const fd = openOwn(this.record, O_WRONLY | O_CREAT | O_TRUNC); // frame indices are this run's
    try {
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
    this.reader = new RecordReader(this.record);
  }

  /** Journal the files whose frames every result node has finished. */
  update(counts: ReadonlyMap<string, number>, warn: (message: string) => void): void {
    if (this.stopped) return;
    const emitted = counts.get(this.node) ?? 0;
    const done = Math.min(...this.sinks.map((s) => counts.get(s) ?? 0));
    const ahead = this.sinks.find((s) => (counts.get(s) ?? 0) > emitted);
    if (ahead) return this.stop(warn, `node "${ahead}" has given more frames than source "${this.node}" emitted, so frames cannot be told apart by file`);
    if (done <= this.journaled) return;
    try {
      this.pending.push(...this.reader.entries());
    } catch (error) {
      return this.stop(warn, `its record ${this.record} cannot be read (${(error as Error).message})`);
    }
    while (this.pending.length && this.pending[0].first + this.pending[0].frames <= done) {
      const entry = this.pending.shift()!;
      if (entry.first !== this.journaled || typeof entry.path !== 'string' || !Number.isSafeInteger(entry.frames)) {
        return this.stop(warn, `its record ${this.record} has an unexpected line ${JSON.stringify(entry)}`);
      }
      let fd: number;
      try {
        fd = openOwn(this.journal, O_WRONLY | O_APPEND | O_CREAT);
      } catch (error) {
        return this.stop(warn, error instanceof UsageError ? `its journal ${this.journal} is a symbolic link now` : `its journal ${this.journal} cannot be written (${(error as Error).message})`);
      }
      try {
        writeSync(fd, JSON.stringify({ path: entry.path, frames: entry.frames, at: new Date().toISOString() }) + '\n');
      } finally {
        closeSync(fd);
      }
      this.journaled += entry.frames;
    }
  }

  private stop(warn: (message: string) => void, why: string): void {
    this.stopped = true;
    warn(`emflow: --resume: ${why}; no more files of "${this.node}" are recorded as done in this run`);
  }
}

/** Who the source's record file and its folder must belong to: the containers' user when it is not the engine's. */
export interface FileOwner {
  uid: number;
  gid: number;
}

export interface ResumeOptions {
  /** the runtime's fileOwner (docker run as root: an unprivileged user writes the record) */
  owner?: FileOwner;
  warn?: (message: string) => void;
}

export class Resume {
  private readonly sources: ResumedSource[] = [];
  /** result node → the resumed source upstream of it */
  private readonly upstream = new Map<string, ResumedSource>();
  private readonly counts = new Map<string, number>();
  private readonly warn: (message: string) => void;

  /**
   * Sets `skip` (when a journal exists) and `record` on every resumable source, in `documents` (the document the
   * session opens, and the resolved one) alike. Throws a UsageError when there is nothing to resume or a node
   * combines the streams of two resumable sources (after a resume each would start at another file).
   */
  constructor(
    pipeline: ResolvedPipeline,
    documents: readonly unknown[],
    out: string,
    file: string,
    { owner, warn = (message) => process.stderr.write(message + '\n') }: ResumeOptions = {},
  ) {
    this.warn = warn;
    const resumable = pipeline.order.filter((id) => {
      const params = pipeline.specs.get(id)!.params;
      return own(params, 'skip')?.path === 'read' && own(params, 'record')?.path === 'write' && !pipeline.inputs.get(id)?.size;
    });
    if (!resumable.length) throw new UsageError(`--resume: ${file} has no source that can resume (one with skip and record params, such as folder-source)`);
    const folder = join(out, RESUME_FOLDER);
    refuseLink(folder, 'folder');
    mkdirSync(folder, { recursive: true });
    if (owner) chownSync(folder, owner.uid, owner.gid);
    const reachedBy = new Map<string, string>();
    for (const id of resumable) {
      const downstream = this.downstream(pipeline, id);
      for (const node of downstream) {
        const other = reachedBy.get(node);
        if (other) throw new UsageError(`--resume: node "${node}" combines the streams of sources "${other}" and "${id}", which would no longer pair the same files once resumed`);
        reachedBy.set(node, id);
      }
      const source = new ResumedSource(id, folder, downstream.filter((node) => isResultNode(pipeline, node)), owner);
      this.sources.push(source);
      for (const node of downstream) this.upstream.set(node, source);
      for (const document of documents as { nodes: { id: string; params?: Record<string, unknown> }[] }[]) {
        const node = document.nodes.find((n) => n.id === id)!;
        node.params = { ...node.params, record: source.record };
        if (source.before.files) node.params.skip = source.journal;
        else delete node.params.skip;
      }
    }
  }

  /** Nodes that see the source's frames, itself included; not through an edge queue that drops frames. */
  private downstream(pipeline: ResolvedPipeline, source: string): string[] {
    const seen = new Set([source]);
    for (const node of seen) {
      for (const port of Object.keys(pipeline.specs.get(node)!.outputs)) {
        for (const to of pipeline.consumers.get(portKey(node, port)) ?? []) if (blocks(pipeline, to)) seen.add(to.node);
      }
    }
    return [...seen];
  }

  /** One line per source that goes on after files done before. */
  describe(): string[] {
    return this.sources
      .filter((s) => s.before.files)
      .map((s) => `emflow: resuming "${s.node}": ${s.before.files} files (${s.before.frames} frames) done by earlier runs are skipped (${s.journal})`);
  }

  /** A node event: journal the files every result node has finished. */
  nodeFrames(node: string, frames: number): void {
    if (frames <= (this.counts.get(node) ?? 0)) return;
    this.counts.set(node, frames);
    for (const source of this.sources) if (source.node === node || source.sinks.includes(node)) source.update(this.counts, this.warn);
  }

  /** The event --out writes: frame indices go on after the frames done by earlier runs. */
  shifted(event: FrameEvent): FrameEvent {
    const offset = this.upstream.get(event.node)?.before.frames ?? 0;
    return offset ? { ...event, index: event.index + offset } : event;
  }
}

const blocks = (pipeline: ResolvedPipeline, to: { node: string; port: string }) => (pipeline.queues.get(portKey(to.node, to.port))?.policy ?? 'block') === 'block';

/** A node with no outputs, or an output no edge consumes, or only through queues that drop frames. */
function isResultNode(pipeline: ResolvedPipeline, node: string): boolean {
  const ports = Object.keys(pipeline.specs.get(node)!.outputs);
  return ports.length === 0 || ports.some((port) => !(pipeline.consumers.get(portKey(node, port)) ?? []).some((to) => blocks(pipeline, to)));
}
