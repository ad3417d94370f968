// Shared helpers of the tests: pipelines built in code, leak checks against /proc and /dev/shm, and reference
// values computed independently of emflow (here, or by NumPy/SciPy in test/fixtures/numpy_reference.py).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableToIPC } from 'apache-arrow';
import type { Session } from '@emflow/engine';
import { NDArray, npyHeader, type DType, type Frame, type TypedArray } from '@emflow/sdk';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const operatorDirs = [resolve(root, 'operators'), resolve(root, 'test/operators')];

export interface NodeSketch {
  id: string;
  operator: string;
  params?: Record<string, unknown>;
}

/** A pipeline document from nodes and "from.port->to.port" edges. */
export function pipeline(nodes: NodeSketch[], edges: string[]) {
  return {
    emflow: 1 as const,
    name: 'test',
    nodes: nodes.map((n) => ({ params: {}, ...n })),
    edges: edges.map((e) => {
      const [from, to] = e.split('->');
      const [fn, fp] = from.split('.');
      const [tn, tp] = to.split('.');
      return { from: { node: fn, port: fp }, to: { node: tn, port: tp } };
    }),
  };
}

/** PIDs of live processes whose environment points at this session directory. */
export function processesOf(sessionDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (env.includes(`EMFLOW_SESSION_DIR=${sessionDir}\0`) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Nothing of the session is left: no directory, no operator process. */
export async function expectNoLeaks(sessionDir: string): Promise<void> {
  // closing may still be under way (a dropped tab closes its session asynchronously): wait for both to go
  for (let i = 0; i < 50 && (processesOf(sessionDir).length || existsSync(sessionDir)); i++) await new Promise((r) => setTimeout(r, 100));
  if (existsSync(sessionDir)) throw new Error(`session directory ${sessionDir} was left behind`);
  const left = processesOf(sessionDir);
  if (left.length) throw new Error(`operator processes left behind: ${left.join(', ')}`);
}

/** float64 statistics computed here, independently of the stats operator. */
export function referenceStats(values: ArrayLike<number>) {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), min, max, sum };
}

export const python = process.env.EMFLOW_PYTHON ?? 'python3';

/** What a Python script prints as JSON. */
export function pythonJson<T>(script: string, ...args: (string | number)[]): T {
  return JSON.parse(execFileSync(python, [script, ...args.map(String)], { encoding: 'utf8', maxBuffer: 1 << 30 })) as T;
}

/** An array as NumPy holds it: its elements (C order) as float64, float64 statistics and what the file's header says. */
export interface NumpyArray {
  dtype: string;
  shape: number[];
  values: Float64Array;
  stats: Partial<ReturnType<typeof referenceStats>>;
  meta: Record<string, unknown>;
}

/** A command of test/fixtures/numpy_reference.py and its arguments. */
export type NumpyCommand = ['read', ...string[]] | ['blur-scale', string, number, number, number] | ['png-pixels', string, string, number, number, number];

/**
 * Runs test/fixtures/numpy_reference.py (NumPy/SciPy and decoders written from the specifications, no emflow
 * code) once for all these commands: `read FILE...`, `blur-scale IMAGE.npy SIGMA A B`,
 * `png-pixels IMAGE.npy SCALING LOW HIGH DEPTH`. The arrays of all of them, in order.
 */
export function numpy(...commands: NumpyCommand[]): NumpyArray[] {
  const args = commands.flatMap((command, i) => [...(i ? ['+'] : []), ...command.map(String)]);
  return pythonJson<(Omit<NumpyArray, 'values'> & { values: string })[]>(resolve(root, 'test/fixtures/numpy_reference.py'), ...args).map((array) => {
    const bytes = Buffer.from(array.values, 'base64');
    return { ...array, values: new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
  });
}

/** Files as NumPy reads them (numpy.load; MRC, TIFF and PNG by the independent readers of formats/test/fixtures). */
export const readWithNumpy = (...files: string[]) => numpy(['read', ...files]);

/** The index-th section along the first axis of an array NumPy read. */
export function sectionOf(array: NumpyArray, index: number): NumpyArray {
  const size = array.shape.slice(1).reduce((a, b) => a * b, 1);
  return { ...array, shape: array.shape.slice(1), values: array.values.subarray(index * size, (index + 1) * size) };
}

/** How `array` differs from NumPy's in dtype, shape or an element (exactly; NaN equals NaN), or undefined. */
export function differenceFromNumpy(array: NDArray, numpy: NumpyArray): string | undefined {
  if (array.dtype !== numpy.dtype || array.shape.join() !== numpy.shape.join()) return `${array.dtype} [${array.shape.join(', ')}], NumPy ${numpy.dtype} [${numpy.shape.join(', ')}]`;
  return firstDifference(array.values(), numpy.values);
}

/**
 * Where `actual` first differs from `expected` by more than `tolerance` (NaN equals only NaN; with tolerance 0,
 * 0 and −0 differ), or undefined: quick on large arrays, and it names the element.
 */
export function firstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 0): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const [a, e] = [actual[i], expected[i]];
    const same = tolerance === 0 ? Object.is(a, e) : Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= tolerance;
    if (!same) return `element ${i}: ${a}, expected ${e}`;
  }
  return undefined;
}

/** Saves an array as a .npy file for NumPy (npy-writer's test checks this header format against numpy.load). */
export function saveNpy(path: string, array: NDArray): void {
  const { data } = array;
  writeFileSync(path, Buffer.concat([npyHeader(array), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/**
 * An array of this dtype holding its edge cases: extremes, signed zeros, subnormal, huge and non-finite values
 * as the typed array stores them (integers wrapped, NaN and ±Infinity as 0); float16 as raw half bit patterns.
 */
export function edgeCases(dtype: DType, shape: readonly number[]): NDArray {
  const values = [0, 1, -1, 127, -128, 255, 65535, -32768, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, -0, 0.1, -2.5e-7, 1e-40, 6.5e4, 3e38, 1e300, NaN, Infinity, -Infinity];
  const halves = [0x3c00, 0xc000, 0x7bff, 0x3555, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x0400, 0xfbff];
  const array = NDArray.zeros(dtype, shape);
  const fill = dtype === 'float16' ? halves : values.map((v) => (dtype.startsWith('float') || Number.isFinite(v) ? v : 0));
  for (let i = 0; i < array.size; i++) (array.data as TypedArray)[i] = fill[i % fill.length];
  return array;
}

/** Everything a session produced, in a form where equal means bit-for-bit equal. */
export function sessionSnapshot(session: Session) {
  const comparable = (frame: Frame) =>
    frame.kind === 'ndarray'
      ? { kind: frame.kind, dtype: frame.dtype, shape: frame.shape, meta: frame.meta, bytes: Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).toString('base64') }
      : frame.kind === 'table'
        ? { kind: frame.kind, meta: frame.meta, ipc: Buffer.from(tableToIPC(frame.table)).toString('base64') }
        : { kind: frame.kind, meta: frame.meta, value: frame.value };
  const all: Record<string, unknown[]> = {};
  for (const node of session.pipeline.document.nodes) {
    for (const port of Object.keys(session.pipeline.specs.get(node.id)!.outputs)) all[`${node.id}.${port}`] = session.outputs(node.id, port).map(comparable);
  }
  return all;
}

/** The SIF images the Apptainer tests build and use, kept between runs on a machine (builds are incremental). */
export const sifImages = process.env.EMFLOW_TEST_IMAGES ?? '/var/tmp/emflow-test-sif';

/** A stream zipped with a single reference frame (broadcast), summed and measured: the conformance suites run it. */
export const zipAndBroadcast = pipeline(
  [
    { id: 'stream', operator: 'synthetic', params: { pattern: 'noise', width: 96, height: 64, count: 3, seed: 4 } },
    { id: 'reference', operator: 'synthetic', params: { pattern: 'lattice', width: 96, height: 64, count: 1 } },
    { id: 'blur', operator: 'gaussian-blur', params: { sigma: 1.3 } },
    { id: 'sum', operator: 'test-sum' },
    { id: 'stats', operator: 'stats' },
  ],
  ['stream.image->blur.image', 'blur.image->sum.a', 'reference.image->sum.b', 'sum.sum->stats.image'],
);

/** The example pipeline `name` with its writers writing into `results/<runtime>/` (one folder per runtime compared). */
export function exampleWritingInto(name: string, results: string, runtime: string): { nodes: { operator: string; params: Record<string, unknown> }[] } {
  const document = JSON.parse(readFileSync(resolve(root, 'pipelines', `${name}.json`), 'utf8'));
  for (const node of document.nodes) if (node.operator.endsWith('-writer')) node.params.path = resolve(results, runtime, `${node.id}-{frame:02d}.out`);
  return document;
}

/** The files in `dir` (none when it does not exist), each with its bytes: equal when two runtimes wrote the same. */
export function filesIn(dir: string): Record<string, Buffer> {
  return existsSync(dir) ? Object.fromEntries(readdirSync(dir).sort().map((file) => [file, readFileSync(resolve(dir, file))])) : {};
}
