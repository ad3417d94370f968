// The run record (`emflow-run.json`): what ran, on what, with which inputs, producing which files, how long it
// took and how it ended. Pure: assembled from values gathered at the edge (provenance/files.ts, recorder.ts).
import type { NodeReport, NodeState, RunReport } from '../session/run.js';
import type { PipelineDocument } from '../validate/pipeline.js';

/** The record's file name, written into the `--out` folder next to the outputs. */
export const RECORD_FILE = 'emflow-run.json';
/** What `emflowRun` holds: the version of this format. */
export const RECORD_VERSION = 1;

export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted';

export interface HashedFile {
  /** absolute path */
  path: string;
  size?: number;
  /** `sha256:<hex>` of the bytes, when hashed */
  sha256?: string;
  /** why the file could not be read or hashed */
  error?: string;
}

export interface InputFile extends HashedFile {
  node: string;
  /** the `path: 'read'` param naming it */
  param: string;
  /** the param's value: this file, or the folder holding it */
  named: string;
}

export interface OutputFile extends HashedFile {
  /** `out`: written by `emflow run --out`; `writer`: appeared where a `path: 'write'` param points */
  by: 'out' | 'writer';
  node: string;
  /** --out files: the output port and frame index */
  port?: string;
  frame?: number;
  /** writer files: the param whose pattern the file matches */
  param?: string;
}

export interface NodeRecord {
  id: string;
  operator: string;
  version: string;
  /** the operator's build: `sha256:…` source hash (process runtime) or image digest (docker, SIF) */
  identity: string;
  /** its operator folder or image reference */
  location: string;
  /** last state seen (waiting, running, done, cached, failed, cancelled) */
  state?: NodeState;
  frames: number;
  /** time in calls to the operator and the median call, from the run report (absent when the run did not finish) */
  ms?: number;
  medianMs?: number;
  cached?: boolean;
  /** a replicated node: the most replicas it ran at once, and when and why their number changed */
  replicas?: NodeReport['replicas'];
}

export interface RunFailure {
  message: string;
  node?: string;
  operator?: string;
  frame?: number;
  detail?: string;
}

export interface RunRecord {
  emflowRun: typeof RECORD_VERSION;
  status: RunStatus;
  failure?: RunFailure;
  engine: { version: string; node: string };
  command: { argv: string[]; line: string; cwd: string };
  host: { name: string; platform: string; arch: string; user: string; uid?: number };
  runtime: string;
  /** ISO 8601 */
  startTime: string;
  endTime?: string;
  /** the run's own wall time (operators started to last frame), from the run report */
  wallMs?: number;
  pipeline: {
    /** the pipeline file and the sha256 of its bytes (absent for a document given otherwise) */
    file?: string;
    sha256?: string;
    name?: string;
    /** `--set` overrides as given */
    settings: string[];
    /** the document as run: params validated with defaults filled in, file paths absolute */
    document: PipelineDocument;
  };
  outDir?: string;
  nodes: NodeRecord[];
  inputs: InputFile[];
  outputs: OutputFile[];
  /** false when hashing was skipped (an interrupted run is recorded at once) */
  hashed: boolean;
  notes: string[];
}

/** What the node loop knows of one node without a run report (a run that failed or was interrupted). */
export interface NodeProgress {
  state: NodeState;
  frames: number;
}

export interface NodeIdentity {
  id: string;
  operator: string;
  version: string;
  identity: string;
  location: string;
}

/** Nodes in run order with their figures: the run report's when there is one, else what progress events said. */
export function nodeRecords(nodes: readonly NodeIdentity[], progress: ReadonlyMap<string, NodeProgress>, report?: RunReport): NodeRecord[] {
  return nodes.map((node) => {
    const seen = progress.get(node.id);
    const figures: NodeReport | undefined = report && Object.hasOwn(report.nodes, node.id) ? report.nodes[node.id] : undefined;
    return {
      ...node,
      ...(seen ? { state: seen.state } : {}),
      frames: figures?.frames ?? seen?.frames ?? 0,
      ...(figures ? { ms: figures.ms, medianMs: figures.medianMs, cached: figures.cached } : {}),
      ...(figures?.replicas ? { replicas: figures.replicas } : {}),
    };
  });
}

/** A command line as a POSIX shell would take it back (single quotes where needed). */
export function commandLine(argv: readonly string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface RecordParts extends Omit<RunRecord, 'emflowRun' | 'nodes' | 'notes'> {
  nodes: readonly NodeIdentity[];
  progress: ReadonlyMap<string, NodeProgress>;
  report?: RunReport;
}

export function assembleRecord(parts: RecordParts): RunRecord {
  const { nodes, progress, report, ...rest } = parts;
  return {
    emflowRun: RECORD_VERSION,
    ...rest,
    ...(report ? { wallMs: report.wallMs } : {}),
    nodes: nodeRecords(nodes, progress, report),
    notes: report?.notes ?? [],
  };
}

/** The message and, for a run error, where it happened. */
export function failureOf(error: unknown): RunFailure {
  const message = error instanceof Error ? error.message : String(error);
  const failure = (error as { failure?: Partial<RunFailure> } | undefined)?.failure;
  if (!failure || typeof failure !== 'object') return { message };
  const { node, operator, frame, detail } = failure;
  return { message, ...(node !== undefined ? { node } : {}), ...(operator !== undefined ? { operator } : {}), ...(frame !== undefined ? { frame } : {}), ...(detail !== undefined ? { detail } : {}) };
}

// --- the files writer nodes write: their params are name patterns such as /abs/out/frame-{frame:04d}.png ---

/** A regular expression over absolute paths for a writer's name pattern ({frame…}: digits; {name}, {node}: one path segment). */
export function patternRegExp(pattern: string): RegExp {
  let source = '';
  for (const token of pattern.match(/\{\{|\}\}|\{[^{}]*\}|[^{}]+|[{}]/g) ?? []) {
    if (token === '{{') source += '\\{';
    else if (token === '}}') source += '\\}';
    else if (token.startsWith('{') && token.length > 1) source += token.startsWith('{frame') ? '\\d+' : '[^/]+';
    else source += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The folder a pattern writes below that no field changes, and how many folder levels under it the fields may add. */
export function patternFolder(pattern: string): { folder: string; depth: number } {
  const field = pattern.search(/\{(?!\{)/);
  const fixed = field < 0 ? pattern : pattern.slice(0, field);
  const folder = fixed.slice(0, Math.max(fixed.lastIndexOf('/'), 0)) || '/';
  const rest = pattern.slice(folder === '/' ? 1 : folder.length + 1);
  return { folder, depth: rest.split('/').length - 1 };
}

/** Files present after the run that were absent before it or differ from what they were (stat signatures). */
export function newOrChanged(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  return [...after].filter(([path, signature]) => before.get(path) !== signature).map(([path]) => path).sort();
}
