// One run of a session: every executing node is a loop that takes input frames, asks its warm operator to
// process them, and hands the output slots to its consumers. Nodes run concurrently, so independent branches
// proceed in parallel and a stream is pipelined through the graph, bounded by the slot rings.
import { setMaxListeners } from 'node:events';
import { call, frameMismatch, METHODS, percentiles, RpcError, type Frame, type OperatorErrorData, type ProcessResult, type SlotGrant, type SlotRef } from '@emflow/sdk';
import type { RunPlan } from '../plan.js';
import { describeExit, lastOutput } from '../runtime/runtime.js';
import { mostReplicas, portKey, type ResolvedPipeline } from '../validate/pipeline.js';
import type { HeldFrame, ResultCache } from './cache.js';
import { RunError } from './errors.js';
import { timeout, whenAborted } from './waits.js';
import { stackInSources } from '../runtime/stack-sources.js';
import { Inbox } from './inbox.js';
import { keptFrames, sampledNodes } from './queues.js';
import { LagTracker } from './lag.js';
import { nodeOfKey, runReplicated, type ReplicaChange, type Unit } from './replicas.js';
import type { Slot, SlotPool } from './slots.js';
import type { Worker } from './workers.js';

export interface NodeReport {
  /** frames this node produced in this run (replayed from the cache when `cached`) */
  frames: number;
  /** input frames its dropping queues let go of, by input port (only ports with a dropping queue) */
  dropped?: Record<string, number>;
  /** a replicated node: the most replicas it ran at once, and each change of their number */
  replicas?: { peak: number; changes: ReplicaChange[] };
  /** time spent in calls to the operator (engine sends → answer arrives) */
  ms: number;
  /** median duration of one call */
  medianMs: number;
  /** 99th percentile of the durations of its calls (numpy's linear method), 0 when it made none */
  p99Ms: number;
  cached: boolean;
}

export interface RunReport {
  run: number;
  wallMs: number;
  /** by node id (a null-prototype object: any valid id, `__proto__` included, is an own key) */
  nodes: Record<string, NodeReport>;
  /** things worth telling once, e.g. a node whose outputs exceeded the cache budget */
  notes: string[];
  /** times the run started over because params changed while it was going (see Session.setParams) */
  restarts: number;
  /** the most the run fell behind its acquisition (sampled every second and at its end), and the alerts raised */
  lag?: { peakBehindFrames: number; peakBehindSeconds: number; alerts: string[] };
}

export type NodeState = 'waiting' | 'running' | 'done' | 'cached' | 'failed' | 'cancelled';

export interface FrameEvent {
  /** the pass that produced it: after a restart (params changed during the run), frames of the new pass have a higher number */
  run: number;
  node: string;
  port: string;
  /** index of the frame in the node's output stream */
  index: number;
  frame: Frame;
}

export interface RunContext {
  run: number;
  pipeline: ResolvedPipeline;
  plan: RunPlan;
  workers: ReadonlyMap<string, Worker>;
  pool: SlotPool;
  cache: ResultCache;
  /** decode a frame in a slot (engine-side, read-only mapping) */
  decode(ref: SlotRef): Frame;
  timeoutMs: number;
  /** frame limit for source nodes */
  frames?: number;
  /** called for every frame on an output port that no edge consumes; the slot is held until it resolves */
  onFrame?: (event: FrameEvent) => void | Promise<void>;
  onState(node: string, state: NodeState, frames: number): void;
  /** the session closing: calls in flight are not waited for (their operators are shut down next) */
  signal: AbortSignal;
  /** the run is abandoned (e.g. params changed): calls in flight are cancelled and waited for, workers stay warm */
  cancel?: AbortSignal;
  /** how long a cancelled call may take to answer before its operator is stopped (ms) */
  cancelGraceMs: number;
  /** after a failure or cancellation the run rejects at once; the cleanup that must finish before the next run is handed over here */
  onCleanup(done: Promise<void>): void;
  /** the run's lag tracker, handed over when the run starts (the session samples it while the run goes) */
  onLag?(tracker: LagTracker): void;
  /** the replicas of replicated nodes: those running now, starting and stopping one, and telling of each change */
  replicas: {
    units(node: string): Unit[];
    add(node: string): Promise<Unit>;
    remove(unit: Unit): Promise<void>;
    changed(node: string, change: ReplicaChange): void;
  };
}


export function median(values: readonly number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function executeRun(ctx: RunContext): Promise<RunReport> {
  const started = performance.now();
  const { pipeline, plan, pool, cache } = ctx;
  const controller = new AbortController();
  const signal = controller.signal;
  const fail = (error: unknown) => {
    if (!signal.aborted) controller.abort(error);
  };
  const onExternalAbort = () => fail(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onExternalAbort, { once: true });
  const onCancel = () => fail(ctx.cancel!.reason);
  ctx.cancel?.addEventListener('abort', onCancel, { once: true });
  // a listener added to a signal that has already fired never runs
  if (ctx.signal.aborted) fail(ctx.signal.reason);
  else if (ctx.cancel?.aborted) fail(ctx.cancel.reason);
  // every waiting call, grant and inbox listens on these: many nodes are not a leak
  setMaxListeners(0, signal, ctx.signal, ...(ctx.cancel ? [ctx.cancel] : []));

  const executing = new Set(plan.execute);
  const consumersOf = (node: string, port: string) => (pipeline.consumers.get(portKey(node, port)) ?? []).filter((c) => executing.has(c.node));
  // frames finished: taken through every terminal node, except those that sample the stream (a dropping edge
  // upstream): a frame they dropped is finished too
  const sampling = sampledNodes(pipeline);
  for (const id of pipeline.order) if ([...(pipeline.inputs.get(id)?.values() ?? [])].some((from) => sampling.has(from.node))) sampling.add(id);
  const terminal = new Set(
    plan.execute.filter((id) => !sampling.has(id) && Object.keys(pipeline.specs.get(id)!.outputs).every((port) => consumersOf(id, port).every((c) => sampling.has(c.node)))),
  );
  const lag = new LagTracker(new Map(plan.execute.map((id) => [id, [...(pipeline.inputs.get(id)?.keys() ?? [])]])), terminal);
  ctx.onLag?.(lag);
  const inboxes = new Map<string, Inbox<HeldFrame>>();
  for (const id of plan.execute) {
    for (const port of pipeline.inputs.get(id)?.keys() ?? []) {
      const key = portKey(id, port);
      // a frame a dropping queue lets go of is no longer held by this consumer
      const onDrop = (dropped: HeldFrame) => {
        lag.dropped(id, port);
        dropped.ring.release(dropped.slot);
      };
      inboxes.set(key, new Inbox<HeldFrame>(keptFrames(pipeline.queues.get(key)), onDrop));
    }
  }
  const replicasOf = (id: string) => pipeline.document.nodes.find((n) => n.id === id)?.replicas;
  const replicated = new Set(plan.execute.filter((id) => mostReplicas(replicasOf(id)) > 1));

  /** Run a replicated node: its replicas share the input queue of `port` and publish in input order. */
  async function replicate(id: string, port: string, work: (unit: Unit, item: HeldFrame, index: number, turn: () => Promise<void>) => Promise<void>): Promise<void> {
    const changes: ReplicaChange[] = [];
    const peak = await runReplicated({
      node: id,
      config: replicasOf(id)!,
      inbox: inboxes.get(portKey(id, port))!,
      signal,
      units: ctx.replicas.units(id),
      add: () => ctx.replicas.add(id),
      remove: (unit) => ctx.replicas.remove(unit),
      changed: (change) => {
        changes.push(change);
        ctx.replicas.changed(id, change);
      },
      work: async (unit, item, index, turn) => {
        lag.started(id, [port], item.acquiredAt, performance.now());
        await work(unit, item, index, turn);
        lag.processed(id, item.acquiredAt, performance.now());
      },
      release: (item) => item.ring.release(item.slot),
      fail,
    });
    nodes[id].replicas = { peak, changes };
  }

  /** Hand a frame to the executing consumers of an output port (each holds the slot until done with it). */
  const deliver = (node: string, port: string, held: HeldFrame, hold: boolean) => {
    for (const consumer of consumersOf(node, port)) {
      if (hold) held.ring.hold(held.slot);
      lag.arrived(consumer.node, consumer.port, held.acquiredAt);
      inboxes.get(portKey(consumer.node, consumer.port))!.push(held);
    }
  };
  const closeConsumers = (node: string, port: string) => {
    for (const consumer of consumersOf(node, port)) inboxes.get(portKey(consumer.node, consumer.port))!.close();
  };

  const nodes = Object.create(null) as Record<string, NodeReport>;
  for (const id of pipeline.order) {
    nodes[id] = { frames: executing.has(id) ? 0 : (cache.get(id)?.count ?? 0), ms: 0, medianMs: 0, p99Ms: 0, cached: !executing.has(id) };
    ctx.onState(id, executing.has(id) ? 'waiting' : 'cached', nodes[id].frames);
  }

  /** A cached node feeds its stored frames to the consumers that run. */
  function replay(id: string): void {
    cache.touch(id);
    const entry = cache.get(id)!;
    const now = performance.now();
    for (const [port, frames] of entry.frames) {
      // replayed frames count as acquired now: the run's lag is about this run's work
      for (const frame of frames) deliver(id, port, { ...frame, acquiredAt: now }, true);
      closeConsumers(id, port);
    }
  }

  /** Cancel a call in flight: the operator answers at once (SDK operators do), or it is stopped after a grace period. */
  async function cancelCall(worker: Worker, answer: Promise<unknown>): Promise<void> {
    if (!worker.exit) worker.channel.notify(METHODS.cancel, {});
    const grace = timeout(ctx.cancelGraceMs);
    const outcome = await Promise.race([answer.then(() => 'answered' as const, () => 'answered' as const), grace.promise]);
    grace.cancel();
    // stopped, it cannot write into a slot the next run is granted; it is started again before that run
    if (outcome === 'timeout') await worker.process.kill();
  }

  async function request(worker: Worker, method: string, params: object, frame: number): Promise<ProcessResult> {
    const operator = worker.info.spec.name;
    // a replica's errors name its node
    const node = nodeOfKey(worker.node);
    // the run may have failed between the grant and now: then the call is not sent at all
    signal.throwIfAborted();
    // sent first: the operator starts while its time limit and the abort listeners are set up
    const answer = call<ProcessResult>(worker.channel, method, params);
    const timedOut = timeout(ctx.timeoutMs);
    // Closing the session does not wait for calls in flight (a watching source may never answer): its
    // operators are shut down next. When the run fails elsewhere or is abandoned, the call is cancelled.
    const closing = whenAborted(ctx.signal, 'closing' as const);
    const aborted = whenAborted(signal, 'aborted' as const);
    try {
      const outcome = await Promise.race([answer, timedOut.promise, closing.promise, aborted.promise]);
      if (outcome === 'closing') throw ctx.signal.reason;
      if (outcome === 'aborted') {
        await cancelCall(worker, answer);
        throw signal.reason;
      }
      if (outcome === 'timeout') {
        await worker.process.kill();
        throw new RunError({ node, operator, frame, detail: `did not answer within ${ctx.timeoutMs} ms; it was stopped`, log: await lastOutput(worker.process) });
      }
      return outcome;
    } catch (error) {
      if (error instanceof RunError || error === signal.reason || error === ctx.signal.reason) throw error;
      // An error answer from the operator (a broken connection rejects with a plain Error).
      if (error instanceof RpcError) {
        const data = error.data as Partial<OperatorErrorData> | undefined;
        const kind = data?.name ?? `error ${error.code}`;
        const stack = typeof data?.stack === 'string' ? stackInSources(data.stack, worker.info.location) : undefined;
        throw new RunError({ node, operator, frame, detail: `${kind}: ${error.message}`, stack, log: await lastOutput(worker.process) });
      }
      // The engine cut the connection because the operator broke the protocol: say so, and stop the operator
      // (it cannot be talked to any more), so that the next run starts it again.
      const reason = (error as Error).message;
      if (/^(sent a control message larger than|malformed JSON on the control socket)/.test(reason)) {
        await worker.process.kill();
        throw new RunError({ node, operator, frame, detail: reason, log: await lastOutput(worker.process) });
      }
      // The connection broke: report how the operator ended.
      const exit = await Promise.race([worker.process.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      const detail = exit ? `${describeExit(exit)} while processing` : `lost its connection: ${(error as Error).message}`;
      throw new RunError({ node, operator, frame, detail, log: await lastOutput(worker.process) });
    } finally {
      timedOut.cancel();
      closing.cancel();
      aborted.cancel();
    }
  }

  async function executeNode(id: string): Promise<void> {
    const worker = ctx.workers.get(id)!;
    /** a replica's operator and the key of its slot rings (the node id for the first replica) */
    const first: Unit = { worker, rings: id };
    const operator = worker.info.spec.name;
    const params = plan.params.get(id)!;
    const wired = [...(pipeline.inputs.get(id)?.keys() ?? [])];
    const outputPorts = Object.keys(worker.info.spec.outputs);
    const consumerCount = new Map(outputPorts.map((p) => [p, consumersOf(id, p).length]));
    const resultPorts = new Set(outputPorts.filter((p) => !pipeline.consumers.get(portKey(id, p))?.length));
    const report = nodes[id];
    const durations: number[] = [];
    cache.begin(id, plan.keys.get(id)!);
    let frame = 0;
    /** a source stopped by the frame limit before its stream ended: its frames are not a complete result */
    let cut = false;

    const malformed = (port: string, detail: string) => new RunError({ node: id, operator, frame, detail: `sent a malformed frame on output "${port}": ${detail}` });

    /** `acquiredAt`: when the input frames of the call were acquired (the earliest); a source's frames are acquired as they are emitted */
    async function publish(unit: Unit, result: ProcessResult, granted: Map<string, Slot>, grants: Record<string, SlotGrant>, acquiredAt: number | undefined): Promise<void> {
      const unknown = Object.keys(result.outputs).find((p) => !granted.has(p));
      if (unknown) throw malformed(unknown, 'no such output port');
      for (const [port, slot] of granted) {
        const ring = pool.ring(unit.rings, port);
        const ref = Object.hasOwn(result.outputs, port) ? result.outputs[port] : undefined;
        if (!ref) {
          ring.settle(slot, 0);
          continue;
        }
        // the engine holds the slot itself until it is done with it below
        ring.settle(slot, consumerCount.get(port)! + 1);
        try {
          if (ref.slot === slot.name && Number.isSafeInteger(ref.size)) {
            try {
              ring.adopt(slot, ref.size, grants[port].limit!);
            } catch (error) {
              throw malformed(port, (error as Error).message);
            }
          }
          const valid = ref.slot === slot.name && ref.size === slot.size && Number.isInteger(ref.offset) && Number.isInteger(ref.length) && ref.offset >= 0 && ref.length > 0 && ref.offset + ref.length <= slot.size;
          if (!valid) throw malformed(port, `reference ${JSON.stringify(ref)} is not inside granted slot ${slot.name} (${slot.size} bytes)`);
          let decoded: Frame | undefined;
          const decode = () => {
            try {
              return (decoded ??= ctx.decode(ref));
            } catch (error) {
              throw malformed(port, (error as Error).message);
            }
          };
          // every frame: an operator not using the SDK could change type in the middle of a stream
          const mismatch = frameMismatch(decode(), pipeline.types.get(portKey(id, port))!);
          if (mismatch) throw malformed(port, mismatch);
          const held: HeldFrame = { slot, ring, ref, acquiredAt: acquiredAt ?? performance.now() };
          cache.keep(id, port, held);
          deliver(id, port, held, false);
          if (resultPorts.has(port) && ctx.onFrame) await ctx.onFrame({ run: ctx.run, node: id, port, index: frame, frame: decode() });
        } finally {
          ring.release(slot);
        }
      }
    }

    /**
     * One call and its outputs. `index` is the frame index the call is told (a replica's: its input's index);
     * `turn` waits until this call may publish (replicas publish in input order).
     */
    async function callAndPublish(unit: Unit, method: string, params: Record<string, unknown>, acquiredAt?: number, index = frame, turn?: () => Promise<void>): Promise<boolean> {
      const granted = new Map<string, Slot>();
      // a run that failed or was abandoned grants nothing more (as waiting for a slot would refuse)
      signal.throwIfAborted();
      for (const port of outputPorts) {
        const ring = pool.ring(unit.rings, port);
        // a free slot is taken without a turn of the event loop: the call goes out sooner
        granted.set(port, ring.tryGrant() ?? (await ring.grant(signal)));
      }
      const grants: Record<string, SlotGrant> = {};
      for (const [port, slot] of granted) grants[port] = { slot: slot.name, size: slot.size, limit: pool.ring(unit.rings, port).limitFor(slot) };
      const t0 = performance.now();
      let result: ProcessResult;
      try {
        result = await request(unit.worker, method, { run: ctx.run, frame: index, grants, ...params }, index);
        if (!result || typeof result.outputs !== 'object' || result.outputs === null) {
          throw new RunError({ node: id, operator, frame: index, detail: `answered ${method} without an outputs object` });
        }
        await turn?.();
      } catch (error) {
        for (const [port, slot] of granted) pool.ring(unit.rings, port).settle(slot, 0);
        throw error;
      }
      durations.push(performance.now() - t0);
      report.ms += durations[durations.length - 1];
      const produced = Object.keys(result.outputs).length > 0;
      await publish(unit, result, granted, grants, acquiredAt);
      if (produced && wired.length === 0) lag.emitted(id, performance.now());
      // a call counts as a frame when it gave one, or consumed one (a sink); a source's call that gave nothing is none
      if (produced || (method === METHODS.process && wired.length > 0)) {
        frame++;
        report.frames = frame;
        ctx.onState(id, 'running', frame);
      }
      return result.more === true;
    }

    async function processAll(unit: Unit, inputs: Record<string, SlotRef>, acquiredAt?: number, index = frame, turn?: () => Promise<void>): Promise<void> {
      let more = await callAndPublish(unit, METHODS.process, { inputs, params }, acquiredAt, index, turn);
      const limit = wired.length === 0 ? ctx.frames : undefined;
      while (more && (limit === undefined || frame < limit)) {
        signal.throwIfAborted();
        more = await callAndPublish(unit, METHODS.next, {}, acquiredAt);
      }
      cut ||= more;
    }

    ctx.onState(id, 'running', 0);
    /** the input frames of the call in progress; a pinned one is kept aside because it may be reused */
    const current = new Map<string, { held: HeldFrame; pinned: boolean }>();
    const letGo = (port: string) => {
      const entry = current.get(port);
      if (!entry) return;
      current.delete(port);
      if (entry.pinned) entry.held.ring.unpin(entry.held.slot);
      else entry.held.ring.release(entry.held.slot);
    };
    try {
      if (wired.length === 0) {
        await processAll(first, {});
      } else if (replicated.has(id)) {
        await replicate(id, wired[0], (unit, item, index, turn) => processAll(unit, { [wired[0]]: item.ref }, item.acquiredAt, index, turn));
      } else {
        // Zip the input streams frame by frame. An input that ends after exactly one frame is reused for
        // every frame of the others (one reference image against a stream): until a second frame arrives,
        // the first one is pinned aside, so that its producer's ring is free to go on.
        const ended = new Set<string>();
        for (;;) {
          let stop = false;
          let fresh = 0;
          for (const port of wired) {
            if (ended.has(port)) continue;
            const inbox = inboxes.get(portKey(id, port))!;
            const item = await inbox.take(signal);
            if (item) {
              letGo(port);
              current.set(port, { held: item, pinned: false });
              fresh++;
            } else {
              ended.add(port);
              if (inbox.received !== 1) stop = true;
            }
          }
          if (stop || fresh === 0) break;
          const taken = wired.filter((p) => current.has(p) && !current.get(p)!.pinned);
          // a reference frame reused against a stream was acquired at its start: the stream's own frames date the call
          const dating = taken.length ? taken : wired.filter((p) => current.has(p));
          const acquiredAt = Math.min(...dating.map((p) => current.get(p)!.held.acquiredAt));
          lag.started(id, taken, acquiredAt, performance.now());
          await processAll(first, Object.fromEntries(wired.filter((p) => current.has(p)).map((p) => [p, current.get(p)!.held.ref])), acquiredAt);
          lag.processed(id, acquiredAt, performance.now());
          for (const [port, entry] of current) {
            if (entry.pinned || ended.has(port)) continue;
            if (wired.length > 1 && inboxes.get(portKey(id, port))!.received === 1) {
              entry.held.ring.pin(entry.held.slot);
              entry.held.ring.release(entry.held.slot);
              entry.pinned = true;
            } else {
              letGo(port);
            }
          }
        }
      }
      report.medianMs = median(durations);
      report.p99Ms = durations.length ? percentiles(durations, [99])[0] : 0;
      const dropping = wired.filter((port) => keptFrames(pipeline.queues.get(portKey(id, port))) !== undefined);
      if (dropping.length) report.dropped = Object.fromEntries(dropping.map((port) => [port, inboxes.get(portKey(id, port))!.dropped]));
      cache.finish(id, frame, !cut);
      ctx.onState(id, 'done', frame);
    } catch (error) {
      // a node stopped because another failed, or the run was abandoned, did not fail itself
      ctx.onState(id, signal.aborted && error === signal.reason ? 'cancelled' : 'failed', frame);
      throw error;
    } finally {
      for (const port of [...current.keys()]) letGo(port);
      for (const port of outputPorts) closeConsumers(id, port);
    }
  }

  plan.replay.forEach(replay);
  const finished = Promise.all(plan.execute.map((id) => executeNode(id).catch(fail)));
  // The first failure ends the run at once; the other nodes' calls are cancelled meanwhile, and the slots
  // are reset only once every call has answered or its operator was stopped (the next run waits for that).
  const aborted = whenAborted(signal, undefined);
  await Promise.race([finished, aborted.promise]);
  aborted.cancel();
  if (signal.aborted) {
    ctx.onCleanup(
      finished
        .then(() => {
          ctx.signal.removeEventListener('abort', onExternalAbort);
          ctx.cancel?.removeEventListener('abort', onCancel);
          // entries that finished complete hold frames of their own key: they stay for the next pass
          for (const id of plan.execute) if (!cache.get(id)?.complete) cache.drop(id);
          for (const inbox of inboxes.values()) inbox.drain();
          for (const ring of pool.all()) ring.reset();
        })
        .catch(() => undefined),
    );
    throw signal.reason;
  }
  ctx.signal.removeEventListener('abort', onExternalAbort);
  ctx.cancel?.removeEventListener('abort', onCancel);
  const notes = plan.execute
    .filter((id) => cache.budget > 0 && cache.get(id)?.dropped === 'budget')
    .map((id) => `the outputs of node "${id}" (${nodes[id].frames} frames) exceed the result cache budget of ${cache.budget} bytes: they are not kept, and the next run computes them again`);
  return { run: ctx.run, wallMs: performance.now() - started, nodes, notes, restarts: 0 };
}
