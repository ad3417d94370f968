// `emflow bench`: the data plane measured against references taken in the same run, as medians over trials.
import { fork } from 'node:child_process';
import { closeSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { localContext, operatorDefinition, slotBytesForArray, type NDArray } from '@emflow/sdk';
import { buildImages } from '../build/images.js';
import { connectDocker, DockerRuntime } from '../runtime/docker.js';
import { SingularityRuntime } from '../runtime/singularity.js';
import { buildSifs } from '../build/sif.js';
import { defaultOperatorDirs, ProcessRuntime } from '../runtime/process.js';
import { findOperator, type Runtime } from '../runtime/runtime.js';
import { median } from '../session/run.js';
import { relayHandoff } from './relay.js';
import { containerStartFloor, processStartFloor, type StartFloor } from './start-floor.js';
import { streamingBench, type StreamingBench } from './streaming.js';
import { Session } from '../session/session.js';
import { shmRoot } from '../session/session-dir.js';

const here = dirname(fileURLToPath(import.meta.url));
const benchOperators = resolve(here, '..', '..', 'bench-operators');

export interface BenchSizes {
  /** sizes of the hand-off frame (MiB of float32): the last but one is the reference size, compared with memcpy */
  handoffMiB: number[];
  handoffFrames: number;
  /** frames a hand-off pair passes before it is measured: a stream's operators run optimised code, its first frames do not */
  handoffWarmFrames: number;
  tinyFrames: number;
  chainSide: number;
  chainFrames: number;
  /** the balanced chain: frame side, and sweeps of each bench-work stage */
  balancedSide: number;
  balancedPasses: number;
  /** frames of the stream into a slow consumer, and their elements (float32) */
  streamFrames: number;
  streamElements: number;
  trials: number;
}

export const FULL: BenchSizes = { handoffMiB: [1, 16, 64, 256], handoffFrames: 12, handoffWarmFrames: 1000, tinyFrames: 2000, chainSide: 4096, chainFrames: 6, balancedSide: 1024, balancedPasses: 24, streamFrames: 60, streamElements: 1 << 20, trials: 3 };
export const QUICK: BenchSizes = { handoffMiB: [1, 4, 16], handoffFrames: 5, handoffWarmFrames: 20, tinyFrames: 200, chainSide: 512, chainFrames: 3, balancedSide: 256, balancedPasses: 4, streamFrames: 20, streamElements: 1 << 16, trials: 1 };

const MiB = 2 ** 20;

export interface HandoffSize {
  frameBytes: number;
  handoffMs: number;
  memcpyMs: number;
  /** the raw relay after the same fill (relay.ts): the floor of a hand-off through a coordinator on this machine */
  relayMs: number;
}

export interface RoundTrip {
  medianUs: number;
  /** the 99th percentile of one run's calls (median over the trials) */
  p99Us: number;
  frames: number;
  /** the raw relay (relay.ts) of a 64-byte message in the same run: two messages through three bare Node processes, as a round trip is */
  relayUs: number;
  target: string;
  met: boolean;
}

export interface ChainRate {
  /** what the stages are */
  stages: string;
  side: number;
  frames: number;
  pipelineFps: number;
  singleProcessFps: number;
  ratio: number;
}

export interface ColdStart {
  operators: number;
  parallelMs: number;
  sequentialMs: number;
  ratio: number;
  /** the same number of bare Node processes or containers, in parallel and one after another (start-floor.ts) */
  floor?: StartFloor;
  target: string;
  met: boolean;
}

export interface BenchReport {
  machine: { cpus: number; node: string };
  /** at the reference size (64 MiB in a full run), with the hand-off at every size and how it grows */
  handoff: {
    frameBytes: number;
    handoffMs: number;
    memcpyMs: number;
    /** the raw relay after the same fill: this machine's floor for a hand-off through a coordinator */
    relayMs: number;
    filePassingMs: number;
    ratioToMemcpy: number;
    ratioToFilePassing: number;
    target: string;
    met: boolean;
    sizes: HandoffSize[];
    /** the hand-off at the largest size over the smallest, and the same for the raw relay */
    growth: { ratio: number; relayRatio: number; target: string; met: boolean };
    /**
     * The same with the writer writing only the last value of each frame: what is left of the growth when the
     * writer spends no time filling (during which the other processes idle, and a woken idle process is slow).
     */
    unfilled: { smallestMs: number; largestMs: number; ratio: number };
  };
  roundTrip: RoundTrip;
  /** today's chain (a heavy source, light stages) for reference, and balanced stages: the target is on those */
  chain: ChainRate & { balanced: ChainRate & { target: string; met: boolean } };
  coldStart: ColdStart;
  stream: StreamBench;
  /** the highest acquisition rate kept up with, by 1 and 4 replicas of a 20 ms/frame operator */
  streaming: StreamingBench;
  /** the same hand-off with Python operators on one or both sides (zero copy across languages) */
  python: { typescriptMs: number; pythonToPythonMs: number; typescriptToPythonMs: number; pythonRatio: number; mixedRatio: number; target: string; met: boolean } | { skipped: string };
  docker?: ContainerBench;
  singularity?: ContainerBench;
}

const ms = (ns: bigint) => Number(ns) / 1e6;

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return ms(process.hrtime.bigint() - t0);
}

function pipelineOf(nodes: { id: string; operator: string; params?: Record<string, unknown> }[], edges: [string, string, string, string][]) {
  return {
    emflow: 1,
    nodes: nodes.map((n) => ({ params: {}, ...n })),
    edges: edges.map(([fn, fp, tn, tp]) => ({ from: { node: fn, port: fp }, to: { node: tn, port: tp } })),
  };
}

/** A session for one measurement; the result cache is off unless `cache` asks for the library's default. */
async function withSession<T>(runtime: Runtime, pipeline: object, ringSize: number, use: (session: Session) => Promise<T>, cache: 'off' | 'default' = 'off'): Promise<T> {
  const session = await Session.open({ pipeline, runtime, ringSize, ...(cache === 'off' ? { cacheBytes: 0 } : {}) });
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

/** In-process Buffer.copy of the frame: the reference every hand-off is compared with. */
function memcpy(bytes: number, trials: number): number {
  const source = Buffer.alloc(bytes, 1);
  const target = Buffer.alloc(bytes);
  source.copy(target);
  return median(Array.from({ length: trials }, () => time(() => source.copy(target))));
}

/** The file-passing baseline: write the frame to a tmpfs file, read it in another process into a buffer it already has. */
async function filePassing(bytes: number, trials: number): Promise<number> {
  const path = join(shmRoot(), `emflow-bench-${process.pid}.bin`);
  const reader = fork(join(here, 'file-reader.js'), [path, String(bytes)], { stdio: 'ignore' });
  const replies: ((doneAt: bigint) => void)[] = [];
  reader.on('message', (doneAt: string) => replies.shift()?.(BigInt(doneAt)));
  await new Promise<void>((ready) => reader.once('message', () => ready()));
  const frame = Buffer.alloc(bytes, 2);
  const samples: number[] = [];
  try {
    for (let i = 0; i <= trials; i++) {
      const done = new Promise<bigint>((r) => replies.push(r));
      const t0 = process.hrtime.bigint();
      const fd = openSync(path, 'w');
      writeSync(fd, frame);
      closeSync(fd);
      reader.send('read');
      const doneAt = await done;
      if (i > 0) samples.push(ms(doneAt - t0)); // the first pass allocates the file's pages
    }
  } finally {
    reader.kill();
    unlinkSync(path);
  }
  return median(samples);
}

interface HandoffPair {
  runtime: Runtime;
  writer?: string;
  reader?: string;
  writes?: 'all' | 'last';
}

/**
 * Median time from a writer's frame being done to its reader holding a view of it, for each pair (the runtimes and
 * the operators' languages vary). Each pair first passes `handoffWarmFrames` frames with only their last value
 * written (quick at any size), so that what is measured is a stream's steady state: slots made and mapped, the code
 * of both sides and the engine optimised. Pairs take turns, a trial each: pairs compared with each other are
 * measured at the same moments of a machine whose speed drifts.
 */
async function handoffs(pairs: HandoffPair[], sizes: BenchSizes, frameMiB: number): Promise<number[]> {
  const size = (frameMiB * MiB) / 4;
  const sessions: Session[] = [];
  try {
    for (const { runtime, writer = 'bench-writer', reader = 'bench-reader', writes = 'all' } of pairs) {
      const pipeline = pipelineOf(
        [
          { id: 'writer', operator: writer, params: { size, count: sizes.handoffWarmFrames, writes: 'last' } },
          { id: 'reader', operator: reader },
        ],
        [['writer', 'data', 'reader', 'data']],
      );
      // one slot: the writer waits for the reader, so the time measured is the hand-off alone, with no queueing
      const session = await Session.open({ pipeline, runtime, ringSize: 1, cacheBytes: 0 });
      sessions.push(session);
      await session.run();
      session.setParams('writer', { size, count: sizes.handoffFrames, writes });
    }
    const samples = pairs.map((): number[] => []);
    for (let trial = 0; trial < sizes.trials; trial++) {
      for (const [k, session] of sessions.entries()) {
        await session.run({
          onFrame: ({ index, frame }) => {
            if (index >= 2) samples[k].push((frame as { value: number }).value / 1e6); // the first frames create and map the slots
          },
        });
      }
    }
    return samples.map(median);
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

async function roundTrip(runtime: Runtime, sizes: BenchSizes): Promise<RoundTrip> {
  const pipeline = pipelineOf(
    [
      { id: 'tiny', operator: 'bench-tiny', params: { count: sizes.tinyFrames } },
      { id: 'echo', operator: 'bench-echo' },
      { id: 'sink', operator: 'bench-sink' },
    ],
    [
      ['tiny', 'data', 'echo', 'data'],
      ['echo', 'data', 'sink', 'data'],
    ],
  );
  // one slot per port: one frame at a time, so the figure is the latency of a hop, not a queue under load
  return withSession(runtime, pipeline, 1, async (session) => {
    await session.run();
    const medians: number[] = [];
    const p99s: number[] = [];
    for (let trial = 0; trial < sizes.trials; trial++) {
      const { echo } = (await session.run()).nodes;
      medians.push(echo.medianMs * 1000);
      p99s.push(echo.p99Ms * 1000);
    }
    const medianUs = median(medians);
    const relayUs = (await relayHandoff(64, sizes.tinyFrames, Math.min(50, sizes.tinyFrames))) * 1000;
    return { medianUs, p99Us: median(p99s), frames: sizes.tinyFrames, relayUs, target: 'median ≤ 100 µs', met: medianUs <= 100 };
  });
}

type ChainNode = { id: string; operator: string; params?: Record<string, unknown> };

/** Today's chain: a noise source heavier than its three light stages. */
const chainNodes = (sizes: BenchSizes): ChainNode[] => [
  { id: 'source', operator: 'synthetic', params: { pattern: 'noise', width: sizes.chainSide, height: sizes.chainSide, count: sizes.chainFrames, seed: 1 } },
  { id: 'scale1', operator: 'scale', params: { a: 1.5, b: 0.25 } },
  { id: 'scale2', operator: 'scale', params: { a: 0.5, b: -1 } },
  { id: 'scale3', operator: 'scale', params: { a: 2, b: 0 } },
  { id: 'sink', operator: 'bench-sink' },
];

/** Balanced stages: a source that only fills its frame, four stages of the same fixed work, a sink. */
const balancedNodes = (sizes: BenchSizes): ChainNode[] => [
  { id: 'source', operator: 'bench-writer', params: { size: sizes.balancedSide * sizes.balancedSide, count: sizes.chainFrames } },
  ...[1, 2, 3, 4].map((k) => ({ id: `work${k}`, operator: 'bench-work', params: { passes: sizes.balancedPasses } })),
  { id: 'sink', operator: 'bench-sink' },
];

/** A chain of nodes: each node's first output port feeds the next node's first input port. */
async function chainPipeline(runtime: Runtime, nodes: ChainNode[]) {
  const catalog = await runtime.catalog();
  const specOf = (name: string) => findOperator(catalog, name)!.spec;
  return pipelineOf(
    nodes,
    nodes.slice(1).map((n, i): [string, string, string, string] => [nodes[i].id, Object.keys(specOf(nodes[i].operator).outputs)[0], n.id, Object.keys(specOf(n.operator).inputs ?? {})[0]]),
  );
}

async function chainPipelined(runtime: ProcessRuntime, nodes: ChainNode[], sizes: BenchSizes): Promise<number> {
  return withSession(runtime, await chainPipeline(runtime, nodes), 3, async (session) => {
    await session.run({ frames: 1 }); // warm: slots created and mapped
    const rates: number[] = [];
    for (let trial = 0; trial < sizes.trials; trial++) rates.push(sizes.chainFrames / ((await session.run()).wallMs / 1000));
    return median(rates);
  });
}

/** The same chain, the same operator code, called one after another in this process: no IPC, no shared memory. */
async function chainSingleProcess(runtime: ProcessRuntime, nodes: ChainNode[], sizes: BenchSizes): Promise<number> {
  const catalog = await runtime.catalog();
  const instances = [];
  for (const node of nodes) {
    const info = findOperator(catalog, node.operator)!;
    await import(pathToFileURL(runtime.modulePath(info)!).href);
    const input = Object.keys(info.spec.inputs ?? {})[0];
    const output = Object.keys(info.spec.outputs)[0];
    instances.push({ node, input, output, ctx: localContext(node.id, { reuse: true }), op: await operatorDefinition(node.operator)!.instantiate() });
  }
  const [source, ...rest] = instances;
  const once = async (frames: number) => {
    const started = process.hrtime.bigint();
    const params = { ...source.node.params, count: frames };
    let index = 0;
    for (const out of source.op.process({}, params, source.ctx) as Iterable<Record<string, NDArray>>) {
      let frame = out[source.output];
      for (const stage of rest) {
        stage.ctx.frame = index;
        const result = (await stage.op.process({ [stage.input]: frame }, stage.node.params ?? {}, stage.ctx)) as Record<string, NDArray>;
        if (stage.output) frame = result[stage.output];
      }
      source.ctx.frame = ++index;
    }
    return frames / (ms(process.hrtime.bigint() - started) / 1000);
  };
  await once(1);
  const rates: number[] = [];
  for (let trial = 0; trial < sizes.trials; trial++) rates.push(await once(sizes.chainFrames));
  return median(rates);
}

async function chainRate(runtime: ProcessRuntime, nodes: ChainNode[], sizes: BenchSizes, stages: string, side: number): Promise<ChainRate> {
  const pipelineFps = await chainPipelined(runtime, nodes, sizes);
  const singleProcessFps = await chainSingleProcess(runtime, nodes, sizes);
  return { stages, side, frames: sizes.chainFrames, pipelineFps, singleProcessFps, ratio: pipelineFps / singleProcessFps };
}

export interface ContainerBench {
  coldStart: ColdStart;
  warmRerun: { side: number; rerunMs: number; coldMs: number; coldOverRerun: number; target: string; met: boolean };
  handoff: { containersMs: number; processesMs: number; ratio: number; target: string; met: boolean };
  roundTrip: RoundTrip;
}

async function timeOpen(runtime: Runtime, pipeline: object): Promise<number> {
  const started = performance.now();
  const session = await Session.open({ pipeline, runtime, cacheBytes: 0 });
  const ms = performance.now() - started;
  await session.close();
  return ms;
}

/** Opening a session of 8 operators (each started, connected, said hello), against opening 8 sessions of one, one after another. */
async function coldStartOf(runtime: Runtime, sizes: BenchSizes): Promise<ColdStart> {
  const eight = await chainPipeline(runtime, [{ id: 'src', operator: 'synthetic', params: { width: 64, height: 64 } }, ...Array.from({ length: 7 }, (_, i) => ({ id: `s${i}`, operator: 'scale' }))]);
  await timeOpen(runtime, eight); // warm: the operators' files in the page cache, as on any start but the machine's first
  const parallel: number[] = [];
  const sequential: number[] = [];
  for (let trial = 0; trial < sizes.trials; trial++) {
    parallel.push(await timeOpen(runtime, eight));
    let sum = 0;
    for (const node of eight.nodes) sum += await timeOpen(runtime, pipelineOf([{ ...node, operator: node.operator === 'scale' ? 'synthetic' : node.operator }], []));
    sequential.push(sum);
  }
  const parallelMs = median(parallel);
  const sequentialMs = median(sequential);
  const floor =
    runtime instanceof ProcessRuntime
      ? await processStartFloor(8, sizes.trials)
      : runtime instanceof DockerRuntime
        ? await containerStartFloor(await connectDocker(), findOperator(await runtime.catalog(), 'synthetic')!.location, 8, sizes.trials)
        : undefined;
  return {
    operators: 8,
    parallelMs,
    sequentialMs,
    ratio: parallelMs / sequentialMs,
    ...(floor ? { floor } : {}),
    target: 'parallel ≤ 0.5 × one after another',
    met: parallelMs <= 0.5 * sequentialMs,
  };
}

/** A container runtime (docker, or singularity with Apptainer) side by side with the process runtime: cold start, warm re-run, hand-off. */
async function containerBench(kind: 'docker' | 'singularity', processes: ProcessRuntime, sizes: BenchSizes, say: (step: string) => void): Promise<ContainerBench> {
  const { operators } = await processes.catalog();
  // the container bench runs TypeScript operators only: their images (or SIFs), nothing that needs a Python base
  const sources = operators.map((info) => ({ info, entry: processes.entryOf(info)! })).filter(({ entry }) => entry.kind === 'node');
  let runtime: Runtime;
  if (kind === 'docker') {
    say('building operator images (incremental)');
    await buildImages(await connectDocker(), sources, { base: 'offline' });
    runtime = new DockerRuntime();
  } else {
    say('building operator SIF images (incremental)');
    await buildSifs(sources);
    runtime = new SingularityRuntime({ slurm: false });
  }
  await runtime.catalog();

  say(`cold start of 8 ${kind} operators, in parallel and one after another`);
  const coldStart = await coldStartOf(runtime, sizes);

  say('warm re-run after a param change at the last node');
  const side = sizes.chainSide >= 2048 ? 2048 : sizes.chainSide;
  const five = await chainPipeline(runtime, [
    { id: 'src', operator: 'synthetic', params: { pattern: 'gaussian-blobs', width: side, height: side } },
    { id: 'blur', operator: 'gaussian-blur', params: { sigma: 2 } },
    { id: 'gain', operator: 'scale', params: { a: 2 } },
    { id: 'offset', operator: 'scale', params: { b: 1 } },
    { id: 'last', operator: 'scale', params: { a: 1 } },
  ]);
  const started = performance.now();
  const session = await Session.open({ pipeline: five, runtime });
  let coldMs: number;
  const reruns: number[] = [];
  try {
    await session.run();
    coldMs = performance.now() - started;
    for (let trial = 0; trial < Math.max(5, sizes.trials * 3); trial++) {
      session.setParams('last', { a: 1 + trial / 10 });
      const t0 = performance.now();
      await session.run();
      reruns.push(performance.now() - t0);
    }
  } finally {
    await session.close();
  }
  const rerunMs = median(reruns);

  say(`hand-off between two ${kind} operators, by turns with two operator processes`);
  const [containersMs, processesMs] = await handoffs([{ runtime }, { runtime: processes }], sizes, referenceMiB(sizes));
  say(`tiny-frame round trip through one ${kind} operator`);
  const trip = await roundTrip(runtime, sizes);
  return {
    coldStart,
    warmRerun: { side, rerunMs, coldMs, coldOverRerun: coldMs / rerunMs, target: 're-run ≤ 50 ms, cold ≥ 10 × re-run', met: rerunMs <= 50 && coldMs >= 10 * rerunMs },
    handoff: { containersMs, processesMs, ratio: containersMs / processesMs, target: 'containers ≤ 1.2 × processes', met: containersMs <= 1.2 * processesMs },
    roundTrip: trip,
  };
}

export interface StreamBench {
  frames: number;
  frameBytes: number;
  ringSize: number;
  /** the most frames the producer was ahead of its slow consumer */
  peakAhead: number;
  /** the most bytes of slot files in the session directory, and what the rings and the cache budget allow */
  peakDirBytes: number;
  ringBytes: number;
  cacheBudget: number;
  target: string;
  met: boolean;
}

/** Slot bytes in a session directory (its node folders), now. */
function slotBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of readdirSync(join(dir, entry.name))) bytes += statSync(join(dir, entry.name, name), { throwIfNoEntry: false })?.size ?? 0;
  }
  return bytes;
}

/** A stream into a consumer slower than its producer, with the library's default result cache on: backpressure must hold. */
async function streamIntoSlowConsumer(runtime: ProcessRuntime, sizes: BenchSizes): Promise<StreamBench> {
  const ringSize = 3;
  const pipeline = pipelineOf(
    [
      { id: 'writer', operator: 'bench-writer', params: { size: sizes.streamElements, count: sizes.streamFrames } },
      { id: 'slow', operator: 'bench-slow', params: { ms: 20 } },
      { id: 'sink', operator: 'bench-sink' },
    ],
    [
      ['writer', 'data', 'slow', 'data'],
      ['slow', 'data', 'sink', 'data'],
    ],
  );
  return withSession(
    runtime,
    pipeline,
    ringSize,
    async (session) => {
      const done = { writer: 0, slow: 0 };
      let peakAhead = 0;
      let peakDirBytes = 0;
      session.on('node', ({ node, frames }) => {
        if (node !== 'writer' && node !== 'slow') return;
        done[node] = frames;
        peakAhead = Math.max(peakAhead, done.writer - done.slow);
        peakDirBytes = Math.max(peakDirBytes, slotBytes(session.paths.dir));
      });
      await session.run();
      const frameBytes = Math.ceil(slotBytesForArray('float32', [sizes.streamElements]) / 4096) * 4096;
      const ringBytes = 2 * ringSize * frameBytes;
      const cacheBudget = session.cacheBudget;
      return {
        frames: sizes.streamFrames,
        frameBytes,
        ringSize,
        peakAhead,
        peakDirBytes,
        ringBytes,
        cacheBudget,
        target: 'producer ≤ ring size ahead; slot bytes ≤ rings + cache budget',
        met: peakAhead <= ringSize && peakDirBytes <= ringBytes + cacheBudget,
      };
    },
    'default',
  );
}

/** The size hand-offs are compared with memcpy at (64 MiB in a full run): the last but one. */
const referenceMiB = (sizes: BenchSizes) => sizes.handoffMiB[Math.max(0, sizes.handoffMiB.length - 2)];

export async function runBench(sizes: BenchSizes, say: (step: string) => void = () => {}, withDocker = false, withSingularity = false): Promise<BenchReport> {
  const runtime = new ProcessRuntime({ operatorDirs: [benchOperators, ...defaultOperatorDirs()] });
  const handoffSizes: HandoffSize[] = [];
  for (const frameMiB of sizes.handoffMiB) {
    say(`shared-memory hand-off of ${frameMiB} MiB between two operator processes, memcpy of it, and the raw relay`);
    const [handoffMs] = await handoffs([{ runtime }], sizes, frameMiB);
    const relayMs = await relayHandoff(frameMiB * MiB, sizes.handoffFrames * sizes.trials, Math.min(50, sizes.handoffWarmFrames));
    handoffSizes.push({ frameBytes: frameMiB * MiB, handoffMs, memcpyMs: memcpy(frameMiB * MiB, Math.max(5, sizes.trials * 5)), relayMs });
  }
  const reference = handoffSizes.find((h) => h.frameBytes === referenceMiB(sizes) * MiB)!;
  say('the same at the smallest and largest size, the writer writing only the last value');
  const unfilled: number[] = [];
  for (const frameMiB of [sizes.handoffMiB[0], sizes.handoffMiB.at(-1)!]) unfilled.push(...(await handoffs([{ runtime, writes: 'last' }], sizes, frameMiB)));
  say('file-passing baseline');
  const filePassingMs = await filePassing(reference.frameBytes, Math.max(3, sizes.trials * 3));
  say('tiny-frame round trip through one operator');
  const trip = await roundTrip(runtime, sizes);
  say('4-stage chains, pipelined across processes and in one process');
  const today = await chainRate(runtime, chainNodes(sizes), sizes, 'synthetic noise → scale ×3 → sink', sizes.chainSide);
  const balanced = await chainRate(runtime, balancedNodes(sizes), sizes, `fill → bench-work (${sizes.balancedPasses} sweeps) ×4 → sink`, sizes.balancedSide);
  say('cold start of 8 operator processes, in parallel and one after another');
  const coldStart = await coldStartOf(runtime, sizes);
  say('stream into a slow consumer, default result cache');
  const stream = await streamIntoSlowConsumer(runtime, sizes);
  say('streaming: the highest acquisition rate 1 and 4 replicas of a 20 ms/frame operator keep up with');
  const streaming = await streamingBench(runtime, sizes === QUICK);
  say('hand-off between Python operators and from TypeScript to Python, by turns with the TypeScript pair');
  const python = await pythonHandoff(runtime, sizes);
  const docker = withDocker ? await containerBench('docker', runtime, sizes, say) : undefined;
  const singularity = withSingularity ? await containerBench('singularity', runtime, sizes, say) : undefined;
  const [smallest, largest] = [handoffSizes[0], handoffSizes[handoffSizes.length - 1]];
  const growth = largest.handoffMs / smallest.handoffMs;
  return {
    machine: { cpus: cpus().length, node: process.version },
    ...(docker ? { docker } : {}),
    ...(singularity ? { singularity } : {}),
    handoff: {
      ...reference,
      filePassingMs,
      ratioToMemcpy: reference.handoffMs / reference.memcpyMs,
      ratioToFilePassing: reference.handoffMs / filePassingMs,
      target: 'hand-off ≤ 0.1 × memcpy',
      met: reference.handoffMs <= 0.1 * reference.memcpyMs,
      sizes: handoffSizes,
      growth: { ratio: growth, relayRatio: largest.relayMs / smallest.relayMs, target: '≤ 1.2 × the smallest frame\'s', met: growth <= 1.2 },
      unfilled: { smallestMs: unfilled[0], largestMs: unfilled[1], ratio: unfilled[1] / unfilled[0] },
    },
    roundTrip: trip,
    chain: { ...today, balanced: { ...balanced, target: 'pipelined ≥ 1.5 × single process', met: balanced.ratio >= 1.5 } },
    coldStart,
    stream,
    streaming,
    python,
  };
}

/** The hand-off with Python on one or both sides, against the TypeScript pair; skipped (with why) where Python cannot run them. */
async function pythonHandoff(runtime: ProcessRuntime, sizes: BenchSizes): Promise<BenchReport['python']> {
  const { operators, problems } = await runtime.catalog();
  if (!operators.some((o) => o.spec.name === 'bench-py-writer')) {
    return { skipped: problems.find((p) => p.location.endsWith('bench-python'))?.message.split('\n')[0] ?? 'the Python bench operators were not found' };
  }
  const [typescriptMs, pythonToPythonMs, typescriptToPythonMs] = await handoffs(
    [{ runtime }, { runtime, writer: 'bench-py-writer', reader: 'bench-py-reader' }, { runtime, reader: 'bench-py-reader' }],
    sizes,
    referenceMiB(sizes),
  );
  return {
    typescriptMs,
    pythonToPythonMs,
    typescriptToPythonMs,
    pythonRatio: pythonToPythonMs / typescriptMs,
    mixedRatio: typescriptToPythonMs / typescriptMs,
    target: 'Python hand-offs ≤ 1.25 × the TypeScript pair',
    met: Math.max(pythonToPythonMs, typescriptToPythonMs) <= 1.25 * typescriptMs,
  };
}
