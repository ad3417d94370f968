// frame-monitor's rows against NumPy/SciPy (test/fixtures/monitor_reference.py) on the same frames: synthetic
// images saved as .npy, frames with a large offset and a NaN, frames with a known (Fourier-shifted) drift of a
// real micrograph; the throughput with a clock of our own; warm state starting afresh at frame 0 of every run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { decodeNpy, localContext, NDArray } from '@emflow/sdk';
import { synthesize } from '../../synthetic/src/patterns.js';
import { pythonJson, saveNpy } from '../../../test/helpers.js';
import { COLUMNS, FrameMonitor, type FrameMonitorParams, type Row } from '../src/index.js';
import { RunningMoments, Throughput } from '../src/running.js';

const script = fileURLToPath(new URL('./fixtures/monitor_reference.py', import.meta.url));
const micrograph = fileURLToPath(new URL('../../../data/micrographs/mic-000.mrc', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'frame-monitor-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => void vi.restoreAllMocks());

type Reference = Record<Exclude<Column, 'frame' | 'count' | 'time' | 'elapsed' | 'fps'>, number | null>;
type Column = (typeof COLUMNS)[number];
const FIGURES = ['mean', 'std', 'min', 'max', 'meanOfMeans', 'stdOfMeans', 'pooledMean', 'pooledStd', 'sharpness', 'driftY', 'driftX'] as const;

const defaults: FrameMonitorParams = { window: 10, every: 1, keep: 0, driftBox: 512 };

/** The rows (and history frames) of one run of a FrameMonitor over `frames`, frame 0 first. */
function monitorRun(monitor: FrameMonitor, frames: NDArray[], params: Partial<FrameMonitorParams> = {}) {
  const ctx = localContext('monitor');
  return frames.map((image, frame) => {
    ctx.frame = frame;
    const out = monitor.process({ image }, { ...defaults, ...params }, ctx);
    return { row: out.row.table.get(0)!.toJSON() as Row, history: out.history?.table };
  });
}

/** Save the frames as .npy files, in stream order, for NumPy. */
function saved(name: string, frames: NDArray[]): string[] {
  return frames.map((frame, k) => {
    const file = join(scratch, `${name}-${String(k).padStart(3, '0')}.npy`);
    saveNpy(file, frame);
    return file;
  });
}

/**
 * Where a row's figures differ from NumPy's, or undefined: by more than `rtol` relative to the figure (a std to
 * the figure plus the mean it was taken around: a std of equal means is 0 only up to rounding), and drift by more
 * than `atol` px.
 */
function mismatch(row: Row, reference: Reference, rtol = 1e-10, atol = 1e-9): string | undefined {
  const around: Partial<Record<(typeof FIGURES)[number], number>> = {
    std: Math.abs(reference.mean ?? 0),
    stdOfMeans: Math.abs(reference.meanOfMeans ?? 0),
    pooledStd: Math.abs(reference.pooledMean ?? 0),
  };
  for (const column of FIGURES) {
    const ours = row[column];
    const theirs = reference[column] ?? NaN;
    const tolerance = column.startsWith('drift') ? atol : rtol * (Math.abs(theirs) + (around[column] ?? 0));
    if (Number.isNaN(theirs) ? !Number.isNaN(ours) : !(Math.abs(ours - theirs) <= tolerance)) return `frame ${row.frame} ${column}: ${ours}, NumPy ${theirs}`;
  }
  return undefined;
}

const blobs = (frame: number, height = 96, width = 80, seed = 7) => new NDArray(synthesize('gaussian-blobs', width, height, seed, frame), [height, width]);

describe('frame-monitor against NumPy/SciPy', () => {
  it('matches per-frame statistics, running summaries, sharpness and drift on a stream of synthetic images', () => {
    const frames = [0, 1, 2, 3, 4].map((k) => blobs(k));
    // a frame with a large offset (variance that Σx² − n·mean² would lose) and one with a NaN outside the drift box
    frames.push(new NDArray(Float64Array.from(blobs(5).data, (v) => v + 1e6), [96, 80]));
    const withNaN = new NDArray(Float32Array.from(blobs(6).data), [96, 80]);
    withNaN.data[5] = NaN;
    frames.push(withNaN, blobs(7));
    const reference = pythonJson<Reference[]>(script, 'rows', 64, ...saved('blobs', frames));
    const rows = monitorRun(new FrameMonitor(), frames, { driftBox: 64 }).map((r) => r.row);
    expect(rows.map((r) => [r.frame, r.count])).toEqual(frames.map((_, k) => [k, k + 1]));
    rows.forEach((row, k) => expect(mismatch(row, reference[k])).toBeUndefined());
    // the NaN frame has NaN figures but a drift (its box is finite), and leaves the running figures as they were
    expect([rows[6].mean, rows[6].sharpness, rows[6].pooledStd]).toEqual([NaN, NaN, rows[5].pooledStd]);
    expect(Number.isFinite(rows[6].driftY)).toBe(true);
    expect(rows[5].pooledMean).toBeGreaterThan(1e5);
  });

  it('keeps the running std exact over a long stream with an offset of 10⁹', () => {
    const frames = Array.from({ length: 60 }, (_, k) => new NDArray(Float64Array.from(synthesize('noise', 8, 6, 11, k), (v) => 1e9 + k * 0.01 + v), [6, 8]));
    const reference = pythonJson<Reference[]>(script, 'rows', 0, ...saved('offset', frames));
    const rows = monitorRun(new FrameMonitor(), frames, { driftBox: 0 }).map((r) => r.row);
    // numpy's float64 mean of values near 1e9 carries ~1e-7 absolute error: the std (≈ 1) is relative to that
    rows.forEach((row, k) => {
      expect(Math.abs(row.pooledStd - reference[k].pooledStd!)).toBeLessThan(1e-6);
      expect(Math.abs(row.stdOfMeans - reference[k].stdOfMeans!)).toBeLessThan(1e-6);
      expect(row.driftY).toBeNaN();
    });
    expect(rows[59].pooledStd).toBeCloseTo(reference[59].pooledStd!, 6);
  });

  it('finds a known drift of a real micrograph: whole pixels within 0.02 px, sub-pixel within 0.16 px', () => {
    const shifts = ['0,0', '3,-5', '-12,7', '0.5,-0.25', '2.3,1.7', '-7.6,4.4', '20.5,-31.5'];
    const files = shifts.map((_, k) => join(scratch, `shift-${k}.npy`));
    // NumPy writes the shifted frames, then measures them
    const [, reference] = pythonJson<[number, Reference[]]>(script, 'shift', micrograph, scratch, ...shifts, '+', 'rows', 128, ...files);
    const frames = files.map((file) => decodeNpy(readFileSync(file), file));
    const rows = monitorRun(new FrameMonitor(), frames, { driftBox: 128 }).map((r) => r.row);
    rows.forEach((row, k) => expect(mismatch(row, reference[k])).toBeUndefined());
    shifts.forEach((pair, k) => {
      const [dy, dx] = pair.split(',').map(Number);
      // a parabola through three samples of a sharp peak is drawn toward the whole pixel: measured up to 0.152 px
      const tolerance = Number.isInteger(dy) && Number.isInteger(dx) ? 0.02 : 0.16;
      expect(Math.abs(rows[k].driftY - dy), `${pair}: ${rows[k].driftY}`).toBeLessThan(tolerance);
      expect(Math.abs(rows[k].driftX - dx), `${pair}: ${rows[k].driftX}`).toBeLessThan(tolerance);
    });
  });
});

describe('frame-monitor', () => {
  it('measures the throughput over the last `window` frame intervals, with the time and elapsed time', () => {
    const times = [1000, 1000.1, 1000.3, 1000.6, 1001, 1001.5];
    let t = 0;
    const rows = monitorRun(
      new FrameMonitor(() => times[t++]),
      times.map((_, k) => blobs(k, 8, 8)),
      { window: 3 },
    ).map((r) => r.row);
    expect(rows.map((r) => r.time)).toEqual(times);
    rows.forEach((r, k) => expect(r.elapsed).toBeCloseTo(times[k] - 1000, 12));
    const fps = [NaN, 1 / 0.1, 2 / 0.3, 3 / 0.6, 3 / 0.9, 3 / 1.2];
    rows.forEach((r, k) => (Number.isNaN(fps[k]) ? expect(r.fps).toBeNaN() : expect(r.fps).toBeCloseTo(fps[k], 9)));
  });

  it('starts afresh at frame 0 of every run: the second run’s rows are those of a new instance', () => {
    const warm = new FrameMonitor();
    const first = [0, 1, 2, 3].map((k) => blobs(k, 40, 40, 1));
    const second = [0, 1, 2].map((k) => blobs(k, 32, 48, 2));
    monitorRun(warm, first);
    const again = monitorRun(warm, second);
    const fresh = monitorRun(new FrameMonitor(), second);
    const figures = (rows: typeof again) => rows.map(({ row }) => COLUMNS.filter((c) => !['time', 'elapsed', 'fps'].includes(c)).map((c) => row[c]));
    expect(figures(again)).toEqual(figures(fresh));
    expect(again.map(({ row }) => row.count)).toEqual([1, 2, 3]);
    expect(again[2].history!.numRows).toBe(3);
    // and against NumPy over the second stream alone (drift against its own first frame)
    const reference = pythonJson<Reference[]>(script, 'rows', 512, ...saved('second', second));
    again.forEach(({ row }, k) => expect(mismatch(row, reference[k])).toBeUndefined());
  });

  it('emits history on frames 0, every, 2·every, … holding the last `keep` rows; never with every = 0', () => {
    const runs = monitorRun(new FrameMonitor(), [0, 1, 2, 3, 4, 5, 6].map((k) => blobs(k, 16, 16)), { every: 3, keep: 2 });
    expect(runs.map((r) => r.history?.numRows)).toEqual([1, undefined, undefined, 2, undefined, undefined, 2]);
    const last = runs[6].history!;
    expect(last.schema.fields.map((f) => f.name)).toEqual([...COLUMNS]);
    expect(last.schema.fields.map((f) => String(f.type))).toEqual(COLUMNS.map((c) => (c === 'frame' || c === 'count' ? 'Int32' : 'Float64')));
    expect(last.toArray().map((r) => r.toJSON())).toEqual([runs[5].row, runs[6].row]);
    // every = 0 (the default): no history at all
    expect(monitorRun(new FrameMonitor(), [blobs(0, 8, 8), blobs(1, 8, 8)], { every: 0 }).map((r) => r.history)).toEqual([undefined, undefined]);
  });

  it('measures arrays of any rank; sharpness and drift only for 2-D frames, and says once why drift is NaN', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const stack = (k: number) => new NDArray(synthesize('noise', 6, 4 * 3, 3, k), [3, 4, 6]);
    const rows = monitorRun(new FrameMonitor(), [stack(0), stack(1), stack(2)]).map((r) => r.row);
    expect(rows[1].mean).toBeCloseTo(Array.from(stack(1).data).reduce((a, b) => a + b, 0) / 72, 12);
    expect(rows.map((r) => [r.sharpness, r.driftY, r.driftX])).toEqual(rows.map(() => [NaN, NaN, NaN]));
    expect(warn.mock.calls).toEqual([['frame-monitor: no drift: the first frame is [3, 4, 6], not an image of at least 4×4 pixels']]);
    warn.mockClear();
    // a frame of another shape than frame 0's: no drift for it, said once per run
    const mixed = monitorRun(new FrameMonitor(), [blobs(0, 16, 16), blobs(1, 16, 20), blobs(2, 16, 20), blobs(3, 16, 16)]).map((r) => r.row);
    expect(mixed.map((r) => Number.isNaN(r.driftY))).toEqual([false, true, true, false]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain("another shape than the first frame's [16, 16], e.g. [16, 20]");
  });
});

describe('running summaries', () => {
  it('merge groups as Chan et al. and single values as Welford, equal to the direct mean and std', () => {
    const values = Array.from(synthesize('noise', 50, 1, 4, 0), (v) => 3 + v);
    const single = new RunningMoments();
    for (const v of values) single.merge(1, v);
    const grouped = new RunningMoments();
    for (const group of [values.slice(0, 7), values.slice(7, 31), values.slice(31)]) {
      const mean = group.reduce((a, b) => a + b, 0) / group.length;
      grouped.merge(group.length, mean, group.reduce((a, b) => a + (b - mean) ** 2, 0));
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    for (const m of [single, grouped]) {
      expect(m.average).toBeCloseTo(mean, 13);
      expect(m.std).toBeCloseTo(std, 13);
    }
    expect(new RunningMoments().std).toBeNaN();
  });

  it('refuses a throughput window below 1', () => {
    expect(() => new Throughput(0)).toThrow('throughput window 0: expected an integer ≥ 1');
  });
});
