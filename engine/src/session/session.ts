// A session: a validated pipeline whose operators are started once, in parallel, and kept warm across runs,
// with the result cache that lets a param change re-run only what is downstream of it.
import { EventEmitter } from 'node:events';
import { statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeFrame, SlotMappings, type Frame, type SlotRef } from '@emflow/sdk';
import { canonicalJson } from '../hash.js';
import { loadPipeline } from '../pipeline-file.js';
import { resolvePathParams } from '../path-params.js';
import { preparePipeline } from '../prepare.js';
import { planRun } from '../plan.js';
import type { RuntimeName } from '../runtime/index.js';
import { findOperator, type OperatorInfo, type Runtime, type SessionPaths } from '../runtime/runtime.js';
import { checkParams, type ResolvedPipeline } from '../validate/pipeline.js';
import { pathRootProblems, type PathRoots } from '../validate/roots.js';
import { pointer, ValidationError } from '../validate/problems.js';
import { ResultCache } from './cache.js';
import { executeRun, type FrameEvent, type NodeState, type RunReport } from './run.js';
import { createSessionDir, removeSessionDir, shmRoot, sweepStaleSessionDirs } from './session-dir.js';
import { readPathIdentities } from './file-identity.js';
import { lagAlerts, type LagSnapshot, type LagTracker } from './lag.js';
import { ringCapacity } from './queues.js';
import { nodeOfKey, replicaKey, type ReplicaChange, type Unit } from './replicas.js';
import { freeSpace, SlotPool } from './slots.js';
import { ControlServer, startWorker, stopWorker, type Worker } from './workers.js';

export interface SessionOptions {
  /** a pipeline document, or the path of its JSON file */
  pipeline: string | object;
  /** folder that relative path params resolve against (default: the pipeline file's folder, or the working directory) */
  baseDir?: string;
  /** where file params may point (the editor server); unset: anywhere the user can read and write */
  roots?: PathRoots;
  /** a runtime name ('process' by default) or a Runtime instance */
  runtime?: RuntimeName | Runtime;
  /** process runtime: folders of operator folders */
  operatorDirs?: string[];
  /** longest an operator may take for one call before it is stopped (ms, default 120000) */
  timeoutMs?: number;
  /** longest an operator may take to start and connect (ms, default 30000) */
  startTimeoutMs?: number;
  /** frames in flight per output port (default 3) */
  ringSize?: number;
  /** bytes of shared memory the result cache may pin (default: a quarter of free /dev/shm, at most 4 GiB; 0: no cache) */
  cacheBytes?: number;
  /** largest frame (slot) an output may need, in bytes (default 2 GiB); larger ones, and ones that do not fit the free shared memory, are refused before anything is written */
  maxFrameBytes?: number;
  /** after a param change during a run, how long params must stay unchanged before the run starts over (ms, default 30): slider moves coalesce */
  retuneQuietMs?: number;
  /** how long a cancelled call may take to answer before its operator is stopped and started again (ms, default 2000) */
  cancelGraceMs?: number;
}

/** Thrown into a run that params changed under: it starts over with the new values. */
class Superseded extends Error {
  override name = 'Superseded';
}

/** How run() rejects when stop() ended the run. */
export class RunStopped extends Error {
  override name = 'RunStopped';
  constructor() {
    super('the run was stopped');
  }
}

export interface RunOptions {
  /** stop every source after this many frames */
  frames?: number;
  /** called for every frame on an output port that no edge consumes */
  onFrame?: (event: FrameEvent) => void | Promise<void>;
}

export interface SessionEvents {
  node: [{ node: string; state: NodeState; frames: number }];
  log: [{ node: string; stream: 'stdout' | 'stderr'; line: string }];
  /** every second while a run goes: how far it is behind its acquisition */
  lag: [LagSnapshot];
  /** a threshold of the pipeline's `alerts` crossed upwards */
  alert: [{ message: string }];
  /** a replicated node's number of replicas changed while a run went (the queue stayed deep, or a replica idled) */
  replicas: [{ node: string } & ReplicaChange];
}

const open = new Set<Session>();
/** How often the run in progress is sampled for its lag (`lag` events, peaks, alerts). */
const LAG_INTERVAL_MS = 1000;
let exitHookInstalled = false;

/** Last resort when the process exits without closing its sessions: no operator or /dev/shm file survives it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const session of open) session.closeNow();
  });
}

function defaultCacheBytes(): number {
  try {
    const fs = statfsSync(shmRoot());
    return Math.min(4 * 2 ** 30, Math.floor((fs.bavail * fs.bsize) / 4));
  } catch {
    return 2 ** 30;
  }
}

export class Session extends EventEmitter<SessionEvents> {
  private readonly workers = new Map<string, Worker>();
  private readonly mappings: SlotMappings;
  private readonly pool: SlotPool;
  private readonly cache: ResultCache;
  private readonly server: ControlServer;
  private readonly closing = new AbortController();
  private runs = 0;
  /** where file params may point (setParams checks them too) */
  private roots?: PathRoots;
  private active?: Promise<RunReport>;
  /** aborts the execution in progress when params change under it */
  private retune?: AbortController;
  /** stop() was called during the run in progress */
  private stopping = false;
  private lastChange = 0;
  /** cleanup of a failed or abandoned execution: the next one waits for it */
  private cleanup: Promise<void> = Promise.resolve();
  /** nodes whose operator must be started again before the next run (e.g. its container needs other mounts) */
  private readonly stale = new Set<string>();
  private closed?: Promise<void>;
  /** worker keys of replicas being started */
  private readonly startingKeys = new Set<string>();
  /** the lag tracker of the run in progress */
  private tracker?: LagTracker;

  private constructor(
    readonly paths: SessionPaths,
    readonly pipeline: ResolvedPipeline,
    /** relative path params resolve against this folder: the pipeline file's, or the working directory */
    readonly baseDir: string,
    private readonly runtime: Runtime,
    private readonly operators: ReadonlyMap<string, OperatorInfo>,
    private readonly options: Required<Omit<SessionOptions, 'pipeline' | 'runtime' | 'operatorDirs' | 'baseDir' | 'roots'>>,
  ) {
    super();
    this.mappings = new SlotMappings(paths.dir);
    this.pool = new SlotPool(paths.dir, (key, port) => ringCapacity(pipeline, nodeOfKey(key), port, options.ringSize), { maxFrameBytes: options.maxFrameBytes, ...freeSpace(paths.dir) }, (slot) => this.forgetSlot(slot), runtime.fileOwner);
    this.cache = new ResultCache(options.cacheBytes);
    this.server = new ControlServer(paths, (node, request) => this.allocate(node, request.port, request.bytes, request.slot));
  }

  get id(): string {
    return this.paths.id;
  }

  /** Bytes of shared memory the result cache may pin. */
  get cacheBudget(): number {
    return this.cache.budget;
  }

  static async open(options: SessionOptions): Promise<Session> {
    const source = typeof options.pipeline === 'string' ? options.pipeline : undefined;
    const document = typeof options.pipeline === 'string' ? await loadPipeline(options.pipeline) : options.pipeline;
    const baseDir = options.baseDir ?? (source ? dirname(resolve(source)) : process.cwd());
    // the document's own operator folders, the catalog, the checks and (with roots) where file params point
    const { runtime, catalog, pipeline, problems } = await preparePipeline(document, { runtime: options.runtime, operatorDirs: options.operatorDirs, baseDir, roots: options.roots });
    if (!pipeline) throw new ValidationError(problems, source);
    for (const node of pipeline.document.nodes) node.params = resolvePathParams(findOperator(catalog, node.operator)!.spec, node.params, baseDir);

    sweepStaleSessionDirs();
    const { id, dir } = createSessionDir(runtime.fileOwner);
    const paths: SessionPaths = { id, dir, socket: join(dir, 'control.sock') };
    const session = new Session(paths, pipeline, baseDir, runtime, new Map(pipeline.document.nodes.map((n) => [n.id, findOperator(catalog, n.operator)!])), {
      timeoutMs: options.timeoutMs ?? 120_000,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      ringSize: options.ringSize ?? 3,
      cacheBytes: options.cacheBytes ?? defaultCacheBytes(),
      maxFrameBytes: options.maxFrameBytes ?? 2 * 2 ** 30,
      retuneQuietMs: options.retuneQuietMs ?? 30,
      cancelGraceMs: options.cancelGraceMs ?? 2000,
    });
    session.roots = options.roots;
    open.add(session);
    installExitHook();
    try {
      await session.server.listen(runtime.fileOwner);
      await session.startWorkers(pipeline.order.flatMap((node) => session.initialKeys(node)));
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /** The worker keys a node starts with: one per replica it runs at least (replicaKey). */
  private initialKeys(node: string): string[] {
    const min = this.nodeDocument(node).node.replicas?.min ?? 1;
    return Array.from({ length: min }, (_, r) => replicaKey(node, r));
  }

  /** Start the operators of these workers (keys: a node id, or one of its replicas) in parallel; all must say hello. */
  private async startWorkers(keys: readonly string[]): Promise<void> {
    const results = await Promise.allSettled(keys.map((key) => this.startOne(key)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async startOne(key: string): Promise<Worker> {
    const node = nodeOfKey(key);
    const params = this.nodeDocument(node).node.params;
    // each replica has a slot folder of its own: a container may write only its own outputs
    this.pool.nodeFolder(key);
    const worker = await startWorker(this.runtime, this.server, this.paths, key, this.operators.get(node)!, params, this.options.startTimeoutMs);
    worker.process.onLog((line, stream) => this.emit('log', { node, stream, line }));
    this.workers.set(key, worker);
    return worker;
  }

  /** The running replicas of a node, first one first. */
  private unitsOf(node: string): Unit[] {
    return [...this.workers.values()]
      .filter((w) => nodeOfKey(w.node) === node)
      .sort((a, b) => a.node.length - b.node.length || a.node.localeCompare(b.node, 'en', { numeric: true }))
      .map((worker) => ({ worker, rings: worker.node }));
  }

  /** One more replica of a node, under the first key not in use. */
  private async addReplica(node: string): Promise<Unit> {
    let r = 0;
    while (this.workers.has(replicaKey(node, r)) || this.startingKeys.has(replicaKey(node, r))) r++;
    const key = replicaKey(node, r);
    // several may start at once: the key is taken from the moment it is chosen
    this.startingKeys.add(key);
    try {
      const worker = await this.startOne(key);
      return { worker, rings: worker.node };
    } finally {
      this.startingKeys.delete(key);
    }
  }

  private async removeReplica(unit: Unit): Promise<void> {
    this.workers.delete(unit.worker.node);
    await stopWorker(unit.worker, 2000);
  }

  /** Operators that died (crash, timeout, cancelled too late) or went stale are started again before the next run. */
  private async restartWorkers(): Promise<void> {
    const restart = [...this.workers.values()].filter((w) => w.exit || this.stale.has(nodeOfKey(w.node))).map((w) => w.node);
    await Promise.all(restart.filter((key) => !this.workers.get(key)!.exit).map((key) => stopWorker(this.workers.get(key)!, 2000)));
    for (const key of restart) {
      this.workers.delete(key);
      this.stale.delete(nodeOfKey(key));
      this.cache.drop(nodeOfKey(key));
    }
    if (restart.length) await this.startWorkers(restart);
  }

  private allocate(node: string, port: string, bytes: number, slotName?: string) {
    const outputs = this.workers.get(node)?.info.spec.outputs;
    if (!outputs || !Object.hasOwn(outputs, port)) throw new Error(`node "${node}" has no output port "${port}"`);
    const slot = this.pool.ring(node, port).grow(bytes, slotName);
    return { slot: slot.name, size: slot.size };
  }

  private forgetSlot(slot: string): void {
    this.mappings.drop(slot);
    for (const worker of this.workers.values()) {
      if (!worker.exit) worker.channel.notify('release', { slots: [slot] });
    }
  }

  private decode(ref: SlotRef): Frame {
    return decodeFrame(this.mappings.bytes(ref.slot, ref.size, 'r').subarray(ref.offset, ref.offset + ref.length));
  }

  /**
   * Run the pipeline. Nodes whose inputs, params and read files are unchanged since their last run are served
   * from the cache. When params change during the run (setParams), the run starts over with the new values
   * (latest value wins) and resolves with the report of the pass that completed.
   */
  async run(options: RunOptions = {}): Promise<RunReport> {
    if (this.closed) throw new Error('the session is closed');
    if (this.active) throw new Error('a run is already in progress in this session');
    if (options.frames !== undefined && !(Number.isInteger(options.frames) && options.frames > 0)) {
      throw new RangeError(`frames must be a positive integer, got ${options.frames}`);
    }
    this.active = this.runUntilSettled(options);
    try {
      return await this.active;
    } finally {
      this.active = undefined;
      this.retune = undefined;
      this.stopping = false;
    }
  }

  /**
   * End the run in progress, as a failure would: calls in flight are cancelled, operators stay warm, and run()
   * rejects with RunStopped. Entries of nodes that finished stay in the cache. False when no run is in progress.
   */
  stop(): boolean {
    if (!this.active) return false;
    this.stopping = true;
    this.retune?.abort(new RunStopped());
    return true;
  }

  private async runUntilSettled(options: RunOptions): Promise<RunReport> {
    for (let restarts = 0; ; restarts++) {
      await this.cleanup;
      if (restarts) await this.quietParams();
      this.closing.signal.throwIfAborted();
      if (this.stopping) throw new RunStopped();
      this.retune = new AbortController();
      try {
        const report = await this.execute(options, this.retune.signal);
        return { ...report, restarts };
      } catch (error) {
        if (this.closing.signal.aborted) throw this.closing.signal.reason;
        if (this.stopping) throw new RunStopped();
        if (!(error instanceof Superseded)) throw error;
      }
    }
  }

  /** Wait until no param has changed for `retuneQuietMs`, so that a burst of changes causes one more pass. */
  private async quietParams(): Promise<void> {
    for (;;) {
      const wait = this.lastChange + this.options.retuneQuietMs - performance.now();
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** How far the run in progress is behind its acquisition (undefined between runs). */
  lag(): LagSnapshot | undefined {
    return this.tracker?.snapshot(performance.now());
  }

  /**
   * Sample the run's lag every `LAG_INTERVAL_MS` while it goes: `lag` events, peaks for the report, and an
   * `alert` event (and log line) each time a threshold of the pipeline's `alerts` is crossed upwards.
   */
  private async withLagSampling(run: (onLag: (tracker: LagTracker) => void) => Promise<RunReport>): Promise<RunReport> {
    const peak = { behindFrames: 0, behindSeconds: 0 };
    const raised: string[] = [];
    let alerting = new Set<string>();
    const sample = () => {
      const snapshot = this.lag();
      if (!snapshot) return;
      peak.behindFrames = Math.max(peak.behindFrames, snapshot.behindFrames);
      peak.behindSeconds = Math.max(peak.behindSeconds, snapshot.behindSeconds);
      this.emit('lag', snapshot);
      const alerts = lagAlerts(snapshot, this.pipeline.document.alerts);
      for (const { kind, message } of alerts) {
        if (alerting.has(kind)) continue;
        raised.push(message);
        this.emit('alert', { message });
      }
      alerting = new Set(alerts.map((a) => a.kind));
    };
    const timer = setInterval(sample, LAG_INTERVAL_MS);
    try {
      const report = await run((tracker) => (this.tracker = tracker));
      sample();
      return { ...report, lag: { peakBehindFrames: peak.behindFrames, peakBehindSeconds: peak.behindSeconds, alerts: raised } };
    } finally {
      clearInterval(timer);
      this.tracker = undefined;
    }
  }

  private async execute(options: RunOptions, cancel: AbortSignal): Promise<RunReport> {
    await this.restartWorkers();
    const identities = new Map([...this.operators].map(([node, info]) => [node, info.identity]));
    const files = new Map(this.pipeline.document.nodes.map((n) => [n.id, readPathIdentities(this.operators.get(n.id)!.spec, n.params)]));
    const plan = planRun({ pipeline: this.pipeline, identities, frames: options.frames, cached: this.cache.completeKeys(), files });
    return this.withLagSampling((onLag) => executeRun({
      onLag,
      replicas: {
        units: (node) => this.unitsOf(node),
        add: (node) => this.addReplica(node),
        remove: (unit) => this.removeReplica(unit),
        changed: (node, change) => this.emit('replicas', { node, ...change }),
      },
      run: ++this.runs,
      pipeline: this.pipeline,
      plan,
      workers: this.workers,
      pool: this.pool,
      cache: this.cache,
      decode: (ref) => this.decode(ref),
      timeoutMs: this.options.timeoutMs,
      frames: options.frames,
      onFrame: options.onFrame,
      onState: (node, state, frames) => this.emit('node', { node, state, frames }),
      signal: this.closing.signal,
      cancel,
      cancelGraceMs: this.options.cancelGraceMs,
      onCleanup: (done) => (this.cleanup = done),
    }));
  }

  /** The current params of a node (defaults filled in). */
  params(node: string): Record<string, unknown> {
    return structuredClone(this.nodeDocument(node).node.params);
  }

  /**
   * Change some params of a node; the next run re-runs it and what is downstream of it. During a run, the
   * latest value wins: the run in progress is abandoned (calls in flight cancelled, operators kept warm) and
   * starts over once params have been quiet for `retuneQuietMs`, so a burst of changes costs one more pass.
   */
  setParams(node: string, params: Record<string, unknown>): void {
    const { node: doc, index } = this.nodeDocument(node);
    const info = this.operators.get(node)!;
    const merged = { ...doc.params, ...params };
    const problems = checkParams(info.spec, merged, pointer('nodes', index, 'params'));
    if (this.roots) problems.push(...pathRootProblems(info.spec, merged, pointer('nodes', index, 'params'), this.baseDir, this.roots));
    if (problems.length) throw new ValidationError(problems);
    const resolved = resolvePathParams(info.spec, merged, this.baseDir);
    if (canonicalJson(resolved) === canonicalJson(doc.params)) return;
    if (this.runtime.needsRestart?.(info, doc.params, resolved)) this.stale.add(node);
    doc.params = resolved;
    this.lastChange = performance.now();
    if (this.retune && !this.retune.signal.aborted) this.retune.abort(new Superseded(`params of node "${node}" changed during the run`));
  }

  /** The frames a node's output port produced in the last run that ran or replayed it. Views stay valid until the next run or close. */
  outputs(node: string, port: string): Frame[] {
    const spec = this.operators.get(node)?.spec;
    if (!spec) throw new RangeError(`unknown node "${node}"`);
    if (!Object.hasOwn(spec.outputs, port)) throw new RangeError(`node "${node}" (${spec.name}) has no output port "${port}" (ports: ${Object.keys(spec.outputs).join(', ')})`);
    const entry = this.cache.get(node);
    if (!entry) throw new Error(`node "${node}" has not run yet in this session`);
    if (entry.dropped === 'budget') throw new Error(`the outputs of node "${node}" were not kept: they exceeded the cache budget of ${this.cache.budget} bytes (set cacheBytes)`);
    if (entry.dropped === 'evicted') throw new Error(`the outputs of node "${node}" were not kept: newer results needed the cache budget of ${this.cache.budget} bytes (set cacheBytes)`);
    return (entry.frames.get(port) ?? []).map((held) => this.decode(held.ref));
  }

  private nodeDocument(node: string) {
    const index = this.pipeline.document.nodes.findIndex((n) => n.id === node);
    if (index < 0) throw new RangeError(`unknown node "${node}"`);
    return { node: this.pipeline.document.nodes[index], index };
  }

  /** Stop every operator, remove the session directory. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new Error('the session was closed'));
      await this.active?.catch(() => undefined);
      await this.cleanup;
      await Promise.all([...this.workers.values()].map((w) => stopWorker(w, 2000)));
      await this.server.close();
      this.mappings.clear();
      removeSessionDir(this.paths.dir);
      open.delete(this);
    })();
    return this.closed;
  }

  /** Synchronous teardown for process exit: kill operators, remove files. */
  closeNow(): void {
    for (const worker of this.workers.values()) {
      if (worker.exit) continue;
      if (worker.process.killSync) worker.process.killSync();
      else void worker.process.kill();
    }
    removeSessionDir(this.paths.dir);
    open.delete(this);
  }
}

export function openSession(options: SessionOptions): Promise<Session> {
  return Session.open(options);
}
