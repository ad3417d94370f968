// One browser tab's work: its session (opened on the document the tab sends), runs, re-tunes, and the frames
// of its display nodes. The websocket layer (rpc.ts) turns these methods into JSON-RPC and sends what they emit.
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { NDArray, TableFrame, type Frame } from '@emflow/sdk';
import type { Runtime } from '../runtime/runtime.js';
import { RunError } from '../session/errors.js';
import type { FrameEvent, NodeState, RunReport } from '../session/run.js';
import { RunStopped, Session, type SessionOptions } from '../session/session.js';
import type { PathRoots } from '../validate/roots.js';
import { ValidationError, type Problem } from '../validate/problems.js';
import { displayMessage, encodeDisplayMessage, planeOf, peek, type PaneSize } from './displays.js';
import type { EdgePeek, EditorNodeState, PipelineDocument, PixelValue, RpcNotifications, RunSummary } from './protocol.js';

/** A user-facing failure of a tab method: the RPC layer sends it as a JSON-RPC error with this code. */
export class TabError extends Error {
  override name = 'TabError';
  constructor(
    message: string,
    readonly code: 'invalid' | 'noSession' | 'runFailed' | 'noFrame',
    readonly data?: { problems?: readonly Problem[]; node?: string },
  ) {
    super(message);
  }
}

export interface TabOptions {
  runtime: Runtime;
  /** the served folder: relative paths in documents resolve against it */
  baseDir: string;
  roots: PathRoots;
  notify<M extends keyof RpcNotifications>(method: M, params: RpcNotifications[M]): void;
  /** false while the browser is behind: display frames are then skipped (not even made), and the latest sent later */
  canSendBinary(): boolean;
  sendBinary(message: Buffer | Uint8Array): void;
  /** for tests: session settings such as retuneQuietMs */
  session?: Partial<Omit<SessionOptions, 'pipeline' | 'runtime' | 'baseDir' | 'roots'>>;
  /** sessions open in all tabs of the server, and how many may be: each holds operators and shared memory */
  sessions?: { open: number; max: number };
}

/** Frames kept at full resolution per display, for value-under-cursor queries and re-sends at a new pane size. */
export const KEPT_FRAMES = 8;
const DEFAULT_PANE: PaneSize = { width: 1024, height: 1024 };
const MAX_PANE = 8192;
/** Notifications of frame counts alone are sent at most this often per node (state changes go at once). */
const PROGRESS_MS = 100;
/** How often a display that could not send its last frame tries again. */
const CATCH_UP_MS = 250;

interface KeptFrame {
  run: number;
  index: number;
  frame: Frame;
}

interface Display {
  view: string;
  port: string;
  pane: PaneSize;
  /** copies of the latest frames by run and index (slot views die with the callback), oldest first */
  frames: Map<string, KeptFrame>;
  latest?: KeptFrame;
  /** a frame was skipped since the last one sent: the latest goes again once the socket takes it */
  skipped?: boolean;
}

const keyOf = (run: number, index: number) => `${run}:${index}`;

const EDITOR_STATE: Record<NodeState, EditorNodeState> = { waiting: 'queued', running: 'running', done: 'done', cached: 'cached', failed: 'failed', cancelled: 'cancelled' };

/**
 * A frame that stays valid after its slot is reused. An array is copied into `spare`'s buffer when it fits (a
 * display replacing its frame reuses the old one's pages: a fresh 16 MiB buffer costs more in page faults than the copy).
 */
function copyFrame(frame: Frame, spare?: Frame): Frame {
  if (frame.kind === 'ndarray') {
    const reuse = spare?.kind === 'ndarray' && spare.dtype === frame.dtype && spare.data.length === frame.data.length ? spare.data : undefined;
    reuse?.set(frame.data as never);
    return new NDArray(reuse ?? frame.data.slice(), frame.shape, structuredClone(frame.meta), frame.dtype);
  }
  if (frame.kind === 'table') return new TableFrame(tableFromIPC(tableToIPC(frame.table)), structuredClone(frame.meta));
  return frame; // decoded from JSON: already the tab's own
}

export class EditorTab {
  private session?: Session;
  /** open/close calls one after another: a second open waits for the first */
  private queue: Promise<unknown> = Promise.resolve();
  private running?: Promise<RunSummary>;
  private runs = 0;
  private readonly displays = new Map<string, Display>();
  private readonly sent = new Map<string, { state: EditorNodeState; at: number }>();
  private readonly started = new Map<string, number>();
  /** the latest frame count of a node, sent when the throttle lets it */
  private readonly trailing = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: TabOptions) {}

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Open a session on the document (closing the tab's previous one): operators start and stay warm. */
  open(document: PipelineDocument): Promise<{ session: string; nodes: string[] }> {
    return this.serial(async () => {
      await this.endSession();
      if (this.closed) throw new TabError('the connection is closing', 'noSession');
      const limit = this.options.sessions;
      if (limit && limit.open >= limit.max) throw new TabError(`the server already runs ${limit.max} sessions (one per editor tab): close a tab, or start emflow serve with a higher --max-sessions`, 'noSession');
      let session: Session;
      try {
        session = await Session.open({ ...this.options.session, pipeline: document, runtime: this.options.runtime, baseDir: this.options.baseDir, roots: this.options.roots });
      } catch (error) {
        if (error instanceof ValidationError) {
          this.options.notify('problems', { problems: [...error.problems] });
          throw new TabError(error.message, 'invalid', { problems: error.problems });
        }
        throw error;
      }
      this.session = session;
      if (limit) limit.open++;
      session.on('node', ({ node, state, frames }) => this.nodeState(node, state, frames));
      session.on('log', (line) => this.options.notify('log', line));
      for (const [node, spec] of session.pipeline.specs) {
        const view = spec.display?.view;
        const port = Object.keys(spec.outputs)[0];
        if (typeof view === 'string' && port !== undefined) this.displays.set(node, { view, port, pane: DEFAULT_PANE, frames: new Map() });
      }
      return { session: session.id, nodes: [...session.pipeline.order] };
    });
  }

  private requireSession(): Session {
    if (!this.session) throw new TabError('no session is open: open a document first', 'noSession');
    return this.session;
  }

  /** Run the open session; a run already going (e.g. started by a re-tune) is joined, not doubled. */
  run(frames?: number): Promise<RunSummary> {
    const session = this.requireSession();
    this.running ??= this.execute(session, frames).finally(() => (this.running = undefined));
    return this.running;
  }

  private async execute(session: Session, frames: number | undefined): Promise<RunSummary> {
    const run = ++this.runs;
    const t0 = performance.now();
    // frames produced so far: the latest count each node reported
    const counts = new Map<string, number>();
    const produced = () => [...counts.values()].reduce((a, b) => a + b, 0);
    let lastProgress = 0;
    this.sent.clear();
    this.started.clear();
    const counting = ({ node, frames: n }: { node: string; frames: number }) => {
      counts.set(node, n);
      const now = performance.now();
      if (now - lastProgress < PROGRESS_MS) return;
      lastProgress = now;
      this.options.notify('run.progress', { run, state: 'running', frames: produced(), wallMs: now - t0 });
    };
    this.options.notify('run.progress', { run, state: 'running', frames: 0, wallMs: 0 });
    session.on('node', counting);
    try {
      const report = await session.run({ frames, onFrame: (event) => this.onFrame(run, event) });
      const summary = this.summarize(run, 'done', report);
      for (const [node, n] of Object.entries(summary.nodes)) this.options.notify('node.state', { run, node, state: n.cached ? 'cached' : 'done', frames: n.frames, ms: n.ms });
      this.options.notify('run.progress', { run, state: 'done', frames: produced(), wallMs: summary.wallMs, summary });
      return summary;
    } catch (error) {
      const wallMs = performance.now() - t0;
      if (error instanceof RunStopped) {
        const summary: RunSummary = { run, state: 'stopped', wallMs, restarts: 0, nodes: {}, notes: [] };
        this.options.notify('run.progress', { run, state: 'stopped', frames: produced(), wallMs, summary });
        return summary;
      }
      const node = error instanceof RunError ? error.failure.node : undefined;
      const message = error instanceof RunError ? `${error.failure.detail}` : (error as Error).message;
      if (node !== undefined) this.options.notify('node.state', { run, node, state: 'failed', frames: 0, message });
      this.options.notify('run.progress', { run, state: 'failed', frames: produced(), wallMs, error: { message: (error as Error).message, node } });
      throw new TabError((error as Error).message, 'runFailed', node === undefined ? undefined : { node });
    } finally {
      session.off('node', counting);
    }
  }

  private summarize(run: number, state: RunSummary['state'], report: RunReport): RunSummary {
    // own keys only, in run order: a node named "__proto__" is reported like any other
    const nodes = Object.fromEntries(this.requireSession().pipeline.order.filter((id) => Object.hasOwn(report.nodes, id)).map((id) => [id, { ...report.nodes[id] }]));
    return { run, state, wallMs: report.wallMs, restarts: report.restarts, nodes, notes: report.notes };
  }

  private nodeState(node: string, state: NodeState, frames: number): void {
    const now = performance.now();
    const editorState = EDITOR_STATE[state];
    if (state === 'running' && !this.started.has(node)) this.started.set(node, now);
    const last = this.sent.get(node);
    const notify = () => {
      this.trailing.delete(node);
      this.sent.set(node, { state: editorState, at: performance.now() });
      const since = this.started.get(node);
      this.options.notify('node.state', { run: this.runs, node, state: editorState, frames, ms: since === undefined ? undefined : performance.now() - since });
    };
    clearTimeout(this.trailing.get(node));
    // every change of state at once; frame counts while running at most every PROGRESS_MS, the last one always
    if (last && last.state === editorState && now - last.at < PROGRESS_MS) this.trailing.set(node, setTimeout(notify, PROGRESS_MS - (now - last.at)).unref());
    else notify();
  }

  private onFrame(run: number, event: FrameEvent): void {
    const display = this.displays.get(event.node);
    if (!display || event.port !== display.port) return;
    // sent straight from the slot, before the copy kept for pixel queries: the pane is not kept waiting
    this.send(event.node, display, { run, index: event.index, frame: event.frame });
    // the same frame index of an earlier run is replaced (its buffer reused), else the oldest beyond KEPT_FRAMES
    let spare = [...display.frames.values()].find((kept) => kept.index === event.index && kept.run !== run);
    if (!spare && display.frames.size >= KEPT_FRAMES) spare = display.frames.values().next().value;
    if (spare) display.frames.delete(keyOf(spare.run, spare.index));
    const kept = { run, index: event.index, frame: copyFrame(event.frame, spare?.frame) };
    display.frames.set(keyOf(run, event.index), kept);
    display.latest = kept;
  }

  private send(node: string, display: Display, kept: KeptFrame): void {
    if (!this.session) return;
    if (!this.options.canSendBinary()) {
      // skipped before any work is done for it; the latest goes once the socket has drained
      if (!display.skipped) setTimeout(() => this.catchUp(), CATCH_UP_MS).unref();
      display.skipped = true;
      return;
    }
    display.skipped = false;
    const message = displayMessage(display.view, kept.frame, { node, run: kept.run, index: kept.index, params: this.session.params(node) }, display.pane);
    if (message instanceof Error) {
      this.options.notify('log', { node, stream: 'stderr', line: `display: ${message.message}` });
      return;
    }
    this.options.sendBinary(encodeDisplayMessage(message));
  }

  /** Send the latest frame of every display that skipped one (a stream outran the browser), once the socket takes it. */
  private catchUp(): void {
    if (this.closed) return;
    for (const [node, display] of this.displays) {
      if (display.skipped && display.latest) {
        display.skipped = false;
        this.send(node, display, display.latest);
      }
    }
  }

  /**
   * Change params of a node. With `rerun` and no run going, a run starts (its end comes as run.progress); during
   * a run the engine starts the pass over with the latest values.
   */
  setParams(node: string, params: Record<string, unknown>, rerun = true): { rerun: boolean } {
    const session = this.requireSession();
    try {
      session.setParams(node, params);
    } catch (error) {
      if (error instanceof ValidationError) throw new TabError(error.message, 'invalid', { problems: error.problems });
      if (error instanceof RangeError) throw new TabError(error.message, 'invalid');
      throw error;
    }
    if (!rerun) return { rerun: false };
    // failures reach the tab as notifications; nobody awaits this run
    if (!this.running) this.run().catch(() => undefined);
    return { rerun: true };
  }

  stop(): { stopped: boolean } {
    return { stopped: this.session?.stop() ?? false };
  }

  /** Set a display pane's size (device pixels) and send its latest frame again at that size. */
  configure(node: string, width: number, height: number): { ok: true } {
    const display = this.displayOf(node);
    display.pane = { width: Math.min(MAX_PANE, Math.max(1, Math.round(width))), height: Math.min(MAX_PANE, Math.max(1, Math.round(height))) };
    if (display.latest) this.send(node, display, display.latest);
    return { ok: true };
  }

  /** The full-resolution value at (x, y) of a display's frame: the latest, or frame `index` of run `run` (default the latest run that has it). */
  pixel(node: string, x: number, y: number, index?: number, run?: number): PixelValue {
    const display = this.displayOf(node);
    const kept =
      index === undefined ? display.latest : run !== undefined ? display.frames.get(keyOf(run, index)) : [...display.frames.values()].reverse().find((k) => k.index === index);
    if (!kept) throw new TabError(index === undefined ? `display "${node}" has no frame yet` : `frame ${index}${run === undefined ? '' : ` of run ${run}`} of display "${node}" is no longer kept (the latest ${KEPT_FRAMES} are)`, 'noFrame');
    const plane = kept.frame.kind === 'ndarray' ? planeOf(kept.frame) : undefined;
    if (!plane) throw new TabError(`display "${node}" does not show an image`, 'noFrame');
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= plane.width || y >= plane.height) {
      throw new TabError(`(${x}, ${y}) is outside the ${plane.width} × ${plane.height} image of display "${node}"`, 'invalid');
    }
    return { x, y, index: kept.index, value: plane.values[y * plane.width + x] };
  }

  /** A summary of the latest frame on a node's output port (edge taps). */
  peekEdge(node: string, port: string): EdgePeek {
    const session = this.requireSession();
    let frames: Frame[];
    try {
      frames = session.outputs(node, port);
    } catch (error) {
      throw new TabError((error as Error).message, error instanceof RangeError ? 'invalid' : 'noFrame');
    }
    const last = frames.at(-1);
    if (!last) throw new TabError(`node "${node}" produced no frame on "${port}" in its last run`, 'noFrame');
    return peek(last);
  }

  private displayOf(node: string): Display {
    this.requireSession();
    const display = this.displays.get(node);
    if (!display) throw new TabError(`node "${node}" is not a display (image-view, plot-view, table-view)`, 'invalid');
    return display;
  }

  /** Close the open session (operators stopped, shared memory removed); the tab stays connected. */
  closeSession(): Promise<{ closed: boolean }> {
    return this.serial(async () => ({ closed: await this.endSession() }));
  }

  private async endSession(): Promise<boolean> {
    const session = this.session;
    this.session = undefined;
    this.displays.clear();
    if (session) {
      if (this.options.sessions) this.options.sessions.open--;
      session.stop();
      await this.running?.catch(() => undefined);
      await session.close();
    }
    return session !== undefined;
  }

  /** The tab is gone: close its session. */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeSession();
  }
}
