// The editor's wire contract: REST bodies, JSON-RPC methods and notifications, and the binary display
// messages. Types only: the ui imports them (`@emflow/engine/protocol`) without importing any engine code.
import type { OperatorSpec, PortType } from '@emflow/sdk';
import type { PipelineDocument } from '../validate/pipeline.js';
import type { Problem } from '../validate/problems.js';

export type { OperatorSpec, PortType, PipelineDocument, Problem };

// ---- REST -------------------------------------------------------------------------------------------------

/** GET /api/operators */
export interface OperatorsResponse {
  runtime: string;
  operators: OperatorSpec[];
  /** operators that could not be loaded (shown in the palette's footer) */
  problems: { location: string; message: string }[];
  /** for every input port type, the output port types that may feed it (the engine's own rule) */
  accepts: Record<PortType, PortType[]>;
}

/** POST /api/validate (body: a pipeline document) */
export interface ValidateResponse {
  problems: Problem[];
}

/** GET /api/pipelines */
export interface PipelinesResponse {
  /** the served folder */
  folder: string;
  /** the pipeline to open first (`emflow serve FILE`), if any */
  initial?: string;
  pipelines: { name: string; title?: string; description?: string }[];
}

/** GET /api/pipelines/:name answers the document itself; PUT /api/pipelines/:name (body: the document) answers this */
export interface SaveResponse {
  name: string;
  /** problems of the saved document (a document with problems is still saved: work is never lost) */
  problems: Problem[];
}

/** GET /api/files?path=DIR (no path: the roots) */
export interface FilesResponse {
  /** absolute folder listed; undefined when listing the roots */
  path?: string;
  /** the folder above, when it is still inside a root */
  parent?: string;
  entries: { name: string; path: string; kind: 'file' | 'folder'; size?: number }[];
  roots: { read: string[]; write: string[] };
}

/** GET /api/health */
export interface HealthResponse {
  ok: true;
  version: string;
  runtime: string;
}

/** Error body of every REST route (4xx/5xx): one line, no stack */
export interface ErrorResponse {
  error: string;
  problems?: Problem[];
}

// ---- JSON-RPC over /api/ws (one websocket per tab; the token, when required, as ?token=) ---------------------

/** Error codes of JSON-RPC errors the server sends, beside the standard ones */
export const RPC_ERRORS = {
  /** the document or params have problems: `data.problems` */
  invalid: -32001,
  /** no session is open in this tab */
  noSession: -32002,
  /** the run failed: `data.node` names the node when one failed */
  runFailed: -32003,
  /** the run was stopped (session.stop) */
  stopped: -32004,
  /** a display or edge has no frame to show yet */
  noFrame: -32005,
} as const;

export interface RpcMethods {
  /** Open a session on a document (closing this tab's previous one); operators start and stay warm. */
  'session.open': { params: { document: PipelineDocument }; result: { session: string; nodes: string[] } };
  /** Run the open session; answers when the run ends (node states and frames arrive as notifications meanwhile). */
  'session.run': { params: { frames?: number }; result: RunSummary };
  /**
   * Change params of a node. When `rerun` (default true) and no run is in progress, a run starts (its end comes
   * as a `run.progress` notification); during a run the latest value wins (the engine starts the pass over).
   */
  'session.setParams': { params: { node: string; params: Record<string, unknown>; rerun?: boolean }; result: { rerun: boolean } };
  /** Stop the run in progress; operators stay warm. */
  'session.stop': { params: Record<string, never>; result: { stopped: boolean } };
  'session.close': { params: Record<string, never>; result: { closed: boolean } };
  /** The size in CSS pixels × devicePixelRatio of a display pane: images are sent at most this size. Re-sends the latest frame. */
  'display.configure': { params: { node: string; width: number; height: number }; result: { ok: true } };
  /** The full-resolution value at (x, y) of a display's frame: the latest, or frame `index` of run `run` (as its header says). */
  'display.pixel': { params: { node: string; x: number; y: number; index?: number; run?: number }; result: PixelValue };
  /** A summary of the latest frame on an output port (edge taps). */
  'edge.peek': { params: { node: string; port: string }; result: EdgePeek };
}

export type RpcMethod = keyof RpcMethods;

export interface RunSummary {
  run: number;
  state: 'done' | 'failed' | 'stopped';
  wallMs: number;
  restarts: number;
  nodes: Record<string, { frames: number; ms: number; medianMs: number; cached: boolean }>;
  notes: string[];
}

export interface PixelValue {
  x: number;
  y: number;
  index: number;
  value: number;
}

export type EdgePeek =
  | {
      kind: 'ndarray';
      dtype: string;
      shape: number[];
      stats: { min: number; max: number; mean: number; std: number };
      /** a grayscale preview at most 128 px on its longer side (2-D and the middle section of 3-D arrays), min–max scaled, base64 of uint8 row-major */
      thumbnail?: { width: number; height: number; data: string };
    }
  | { kind: 'table'; columns: string[]; numRows: number; rows: unknown[][] }
  | { kind: 'json'; text: string };

/** Server → client notifications */
export interface RpcNotifications {
  'node.state': NodeStateNotification;
  'run.progress': RunProgress;
  log: { node: string; stream: 'stdout' | 'stderr'; line: string };
  problems: { problems: Problem[] };
}

export type EditorNodeState = 'idle' | 'queued' | 'running' | 'done' | 'cached' | 'failed' | 'cancelled';

export interface NodeStateNotification {
  run: number;
  node: string;
  state: EditorNodeState;
  frames: number;
  /** time in the operator so far (ms), when known */
  ms?: number;
  /** what went wrong, on `failed` */
  message?: string;
}

export interface RunProgress {
  run: number;
  state: 'running' | 'done' | 'failed' | 'stopped';
  /** frames produced so far by all nodes */
  frames: number;
  wallMs: number;
  /** when the run ended */
  summary?: RunSummary;
  /** when the run failed */
  error?: { message: string; node?: string; problems?: Problem[] };
}

// ---- Binary display messages (websocket binary frames, server → client) ----------------------------------------
// Layout: u32 little-endian header length H, H bytes of UTF-8 JSON (a DisplayHeader), zero padding to a multiple
// of 8, then the payload described by the header.

export type DisplayHeader = ImageDisplay | PlotDisplay | TableDisplay;

interface DisplayBase {
  node: string;
  run: number;
  /** index of the frame in the display's stream */
  index: number;
  /** the display operator's params (colormap, contrast, labels …) */
  params: Record<string, unknown>;
}

/** payload: Float32Array of width × height, row-major, block means of the source pixels */
export interface ImageDisplay extends DisplayBase {
  kind: 'image';
  width: number;
  height: number;
  /** the frame's own size: pixel queries (display.pixel) use source coordinates */
  source: { width: number; height: number };
  dtype: string;
  /** of the full-resolution frame */
  min: number;
  max: number;
  /** the display range the operator chose at full resolution (image-view's displayMin/displayMax for its params), when it did */
  range?: { min: number; max: number };
}

/** payload: Float64Array columns one after another, each `length` long: x first, then every series */
export interface PlotDisplay extends DisplayBase {
  kind: 'plot';
  x: string;
  series: string[];
  length: number;
  /** points in the frame before decimation (min/max per bucket keeps peaks) */
  sourceLength: number;
}

/** no payload: the first rows travel in the header */
export interface TableDisplay extends DisplayBase {
  kind: 'table';
  columns: string[];
  numRows: number;
  rows: unknown[][];
}
