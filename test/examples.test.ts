// The example pipelines in pipelines/ run on the data in the repository, and what they measure matches
// NumPy/SciPy computing the same steps independently (test/fixtures/example_references.py).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type Session } from '@emflow/engine';
import type { JsonFrame, NDArray, TableFrame } from '@emflow/sdk';
import { latticePeaks } from '../operators/synthetic/src/patterns.js';
import { expectNoLeaks, readWithNumpy, root } from './helpers.js';

type Stats = { mean: number; std: number; min: number; max: number; sum: number };
let references: Record<string, { shape?: number[]; stats: Stats[] }>;
const python = process.env.EMFLOW_PYTHON ?? 'python3';

beforeAll(() => {
  references = JSON.parse(execFileSync(python, [join(root, 'test/fixtures/example_references.py')], { encoding: 'utf8' }));
});

/** Within float32 rounding of values computed in a different order. */
function expectStatsClose(ours: Stats, theirs: Stats, relative = 2e-6) {
  const scale = Math.max(Math.abs(theirs.max), Math.abs(theirs.min), 1);
  for (const key of ['mean', 'std', 'min', 'max'] as const) expect(Math.abs(ours[key] - theirs[key])).toBeLessThanOrEqual(relative * scale);
  expect(Math.abs(ours.sum - theirs.sum)).toBeLessThanOrEqual(relative * scale * 1e4);
}

async function runExample(name: string): Promise<Session> {
  const session = await openSession({ pipeline: join(root, 'pipelines', `${name}.json`) });
  await session.run();
  return session;
}

const opened: Session[] = [];
afterAll(async () => {
  for (const session of opened) {
    await session.close();
    await expectNoLeaks(session.paths.dir);
  }
});

describe('example pipelines', () => {
  it('emdb-projection: EMD-3001 summed along z and blurred, as NumPy and SciPy compute it; the PNG is written', async () => {
    const png = join(root, 'out', 'emd-3001-projection-00.png');
    rmSync(png, { force: true });
    const session = await runExample('emdb-projection');
    opened.push(session);
    const blurred = session.outputs('blur', 'image')[0] as NDArray;
    expect(blurred.shape).toEqual(references['emdb-projection'].shape);
    expect(blurred.meta.units).toBe('Å');
    expectStatsClose((session.outputs('stats', 'stats')[0] as JsonFrame<Stats>).value, references['emdb-projection'].stats[0]);
    expect(existsSync(png)).toBe(true);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([blurred.shape[1], blurred.shape[0]]);
  });

  it('micrograph-stream: six MRC micrographs binned and normalised as a stream, frame by frame as NumPy computes it', async () => {
    const session = await runExample('micrograph-stream');
    opened.push(session);
    const stats = session.outputs('stats', 'stats') as JsonFrame<Stats>[];
    expect(stats).toHaveLength(6);
    stats.forEach((frame, i) => expectStatsClose(frame.value, references['micrograph-stream'].stats[i], 1e-5));
    expect(stats.map((f) => (f.meta.source as string).split('/').pop())).toEqual(['mic-000.mrc', 'mic-001.mrc', 'mic-002.mrc', 'mic-003.mrc', 'mic-004.mrc', 'mic-005.mrc']);
  });

  it('facility-stream: the micrographs filtered by replicas, monitored frame by frame in order, the newest shown on a latest edge', async () => {
    const session = await openSession({ pipeline: join(root, 'pipelines', 'facility-stream.json') });
    opened.push(session);
    const report = await session.run();
    expect(report.nodes.filter.frames).toBe(6);
    expect(report.nodes.filter.replicas!.peak).toBeGreaterThanOrEqual(1);
    // the monitor's rows: the six micrographs in order, their means as SciPy's gaussian_filter(σ = 1.5) gives them
    const script = `import sys, json, numpy as np, scipy.ndimage as nd\nsys.path.insert(0, ${JSON.stringify(join(root, 'test/fixtures'))})\nfrom numpy_reference import mrc\nprint(json.dumps([float(nd.gaussian_filter(mrc.read_mrc(p)[1].astype(np.float64), 1.5, mode='reflect', truncate=4.0).astype(np.float32).mean()) for p in sys.argv[1:]]))`;
    const files = [0, 1, 2, 3, 4, 5].map((i) => join(root, `data/micrographs/mic-00${i}.mrc`));
    const expected = JSON.parse(execFileSync(python, ['-c', script, ...files], { encoding: 'utf8' })) as number[];
    const rows = (session.outputs('monitor', 'row') as TableFrame[]).map((f) => f.table.toArray()[0] as { frame: number; mean: number });
    expect(rows.map((r) => r.frame)).toEqual([0, 1, 2, 3, 4, 5]);
    rows.forEach((r, i) => expect(r.mean).toBeCloseTo(expected[i], 3));
    // the live view samples: at least the newest micrograph, never more than all six, and nothing left behind
    expect(report.nodes.newest.frames).toBeGreaterThanOrEqual(1);
    expect(report.nodes.newest.frames + (report.nodes.newest.dropped?.image ?? 0)).toBe(6);
    expect(report.lag!.alerts).toEqual([]);
  });

  it('tiff-diffractogram: the deflate TIFF’s Hann-windowed log power spectrum, as numpy.fft computes it', async () => {
    const session = await runExample('tiff-diffractogram');
    opened.push(session);
    const spectrum = session.outputs('fft', 'spectrum')[0] as NDArray;
    const reference = references['tiff-diffractogram'];
    expect(spectrum.shape).toEqual(reference.shape);
    const values = Array.from(spectrum.data);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - reference.stats[0].mean)).toBeLessThanOrEqual(1e-4 * reference.stats[0].mean);
    expect(Math.abs(Math.max(...values) - reference.stats[0].max)).toBeLessThanOrEqual(1e-4 * reference.stats[0].max);
    expect(existsSync(join(root, 'out', 'tomviz-diffractogram-00.png'))).toBe(true);
  });

  it('lattice-peaks: every lattice peak away from the border is found, at its true sub-pixel position', async () => {
    const session = await runExample('lattice-peaks');
    opened.push(session);
    const { table } = session.outputs('peaks', 'peaks')[0] as TableFrame;
    expect(table.schema.fields.map((f) => f.name)).toEqual(['x', 'y', 'height', 'sigma']);
    const xs = table.getChild('x')!.toArray() as Float64Array;
    const ys = table.getChild('y')!.toArray() as Float64Array;
    // the generator's own peak centres, away from the border that peak-find excludes (minDistance 5)
    const truth = latticePeaks(256, 256, 11, 0).filter((p) => p.x >= 5 && p.y >= 5 && p.x <= 250 && p.y <= 250);
    expect(table.numRows).toBe(truth.length);
    let squares = 0;
    for (const p of truth) {
      const nearest = Math.min(...Array.from(xs, (x, i) => Math.hypot(x - p.x, ys[i] - p.y)));
      expect(nearest).toBeLessThan(0.2);
      squares += nearest ** 2;
    }
    // noise of 0.05 on unit peaks limits a position to ~0.04 px RMS per axis
    expect(Math.sqrt(squares / truth.length)).toBeLessThan(0.08);
  });

  it('micrograph-explorer: its displays get the blurred micrograph, a histogram of all its pixels, and the brightest particles first', async () => {
    const session = await runExample('micrograph-explorer');
    opened.push(session);
    const [micrograph] = readWithNumpy(join(root, 'data/micrographs/mic-000.mrc'));
    const [view] = session.outputs('view', 'view') as NDArray[];
    expect(view.shape).toEqual(micrograph.shape.slice(-2));
    const { table: histogram } = session.outputs('histogram-plot', 'plot')[0] as TableFrame;
    expect(histogram.schema.fields.map((f) => f.name)).toEqual(['bin_start', 'count']);
    expect(Array.from(histogram.getChild('count')!.toArray() as Float64Array).reduce((a, b) => a + b, 0)).toBe(view.size);
    const { table: particles } = session.outputs('particle-table', 'table')[0] as TableFrame;
    const heights = Array.from(particles.getChild('height')!.toArray() as Float64Array);
    expect(heights.length).toBeGreaterThan(0);
    expect(heights.length).toBeLessThanOrEqual(100);
    expect(heights).toEqual([...heights].sort((a, b) => b - a));
  });
});
