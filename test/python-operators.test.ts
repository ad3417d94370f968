// The Python operators built on the EM Python ecosystem (operators/mrcfile-reader, drift-estimate, nlm-denoise) in
// real pipelines on the process runtime, beside TypeScript operators, against values computed independently by
// test/fixtures/python_operators_reference.py: MRC files decoded from their raw bytes with NumPy, frames shifted by
// known amounts with NumPy/SciPy, scikit-image called directly in a process of its own. Every session is checked
// for leaked processes and shared memory after its test. Run with EMFLOW_PYTHON naming Debian's python3 (CI does).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunError } from '@emflow/engine';
import type { JsonFrame, NDArray } from '@emflow/sdk';
import { exampleWritingInto, firstDifference, processesOf, python, pythonJson, root } from './helpers.js';
import { sessionOpener } from './sessions.js';

const open = sessionOpener();
const references = join(root, 'test/fixtures/python_operators_reference.py');
const cli = join(root, 'engine/dist/cli/main.js');
const data = (name: string) => join(root, 'data', name);
const scratch = () => mkdtempSync(join(tmpdir(), 'emflow-pyops-'));

/** An array as the reference script sends it: C-order elements as base64 little-endian float64. */
interface Encoded {
  dtype: string;
  shape: number[];
  values: string;
}
const valuesOf = (array: Encoded) => {
  const bytes = Buffer.from(array.values, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
/** A file's text, or '' when it is gone or not ours to read. */
const readOrEmpty = (path: string) => {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
};
const reference = <T>(...args: string[]) => pythonJson<T>(references, ...args);
const bytesOf = (frame: NDArray) => Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
const maxAbsDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
};
const largest = (values: ArrayLike<number>) => maxAbsDifference(values, new Float64Array(values.length));
const std = (values: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - mean) ** 2;
  return Math.sqrt(squares / values.length);
};

beforeAll(() => {
  // the operators (started with $EMFLOW_PYTHON, as `python` is) and the reference script need scikit-image, mrcfile,
  // tifffile and SciPy: say so once, clearly
  const probe = spawnSync(python, ['-c', 'import skimage, mrcfile, tifffile, scipy, pywt'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`${python} lacks scikit-image, mrcfile, tifffile, SciPy or PyWavelets (${probe.stderr.trim().split('\n').pop()}): set EMFLOW_PYTHON=/usr/bin/python3 (Debian's, as CI does)`);
  }
});

describe('mrcfile-reader', () => {
  it.each([
    ['EMD-3001.map', 1024 + 160],
    ['EMD-3197.map', 1024],
  ])('%s: every voxel as NumPy decodes the raw bytes (data at byte %i = 1024 + NSYMBT), bit for bit what mrc-reader gives, pixel size cella/mx', async (name, offset) => {
    const file = data(name);
    const {
      files: [raw],
    } = reference<{ files: (Encoded & { offset: number; nsymbt: number; voxelSize: number[]; origin: number[]; ispg: number; mode: number; axes: number[] })[] }>('mrc-raw', file);
    expect(raw.offset).toBe(offset);
    const session = await open({
      emflow: 1,
      name: 'mrcfile-reader against the raw bytes and mrc-reader',
      nodes: [
        { id: 'pySections', operator: 'mrcfile-reader', params: { path: file, sections: 'frames', validation: 'warn' } },
        { id: 'pyVolume', operator: 'mrcfile-reader', params: { path: file, sections: 'volume', validation: 'warn' } },
        { id: 'tsSections', operator: 'mrc-reader', params: { path: file, sections: 'frames' } },
        { id: 'tsVolume', operator: 'mrc-reader', params: { path: file, sections: 'volume' } },
      ],
      edges: [],
    });
    await session.run();
    const expected = valuesOf(raw);
    const [depth, height, width] = raw.shape;
    const [vx, vy, vz] = raw.voxelSize;

    const [volume] = session.outputs('pyVolume', 'volume') as NDArray[];
    expect([volume.dtype, volume.shape]).toEqual(['float32', raw.shape]);
    expect(firstDifference(volume.values(), expected)).toBeUndefined();
    expect(volume.meta).toMatchObject({ pixelSize: [vz, vy, vx], units: 'Å', extendedHeaderBytes: raw.nsymbt, spaceGroup: raw.ispg, mode: raw.mode, origin: raw.origin, source: file });

    const sections = session.outputs('pySections', 'section') as NDArray[];
    expect(sections).toHaveLength(depth);
    sections.forEach((section, z) => {
      expect([section.dtype, section.shape, section.meta.section, section.meta.frame]).toEqual(['float32', [height, width], z, z]);
      expect(firstDifference(section.values(), expected.subarray(z * height * width, (z + 1) * height * width))).toBeUndefined();
      expect(section.meta.pixelSize).toEqual([vy, vx]);
    });
    // EMDB maps of this age declare NVERSION 0: "warn" reads them and carries the validator's finding along
    expect(sections[0].meta.validation).toContain('File does not declare MRC format version 20140 or 20141: nversion = 0');

    // the TypeScript reader in the same pipeline: the same bytes and the same metadata, validation findings aside
    const [tsVolume] = session.outputs('tsVolume', 'volume') as NDArray[];
    expect(bytesOf(volume).equals(bytesOf(tsVolume))).toBe(true);
    const { validation: _findings, ...volumeMeta } = volume.meta;
    expect(volumeMeta).toEqual(tsVolume.meta);
    const tsSections = session.outputs('tsSections', 'section') as NDArray[];
    expect(tsSections).toHaveLength(depth);
    sections.forEach((section, z) => {
      expect(bytesOf(section).equals(bytesOf(tsSections[z]))).toBe(true);
      const { validation: _, ...meta } = section.meta;
      expect(meta).toEqual(tsSections[z].meta);
    });
  });

  it('validation "strict" (the default) refuses a map declaring NVERSION 0 in the validator’s words and reads a valid file; a truncated file fails in every mode, one line naming it', async () => {
    const folder = scratch();
    reference('noisy-image', folder); // written by mrcfile.new: valid MRC2014
    const truncated = join(folder, 'truncated.mrc');
    writeFileSync(truncated, readFileSync(data('EMD-3197.map')).subarray(0, 20_000)); // 1024 + 18976 of 32000 data bytes
    const session = await open({
      emflow: 1,
      name: 'validation',
      nodes: [{ id: 'mrc', operator: 'mrcfile-reader', params: { path: data('EMD-3197.map') } }],
      edges: [],
    });
    const failure = async () => {
      const error = await session.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RunError);
      return (error as RunError).failure.detail;
    };
    const strict = await failure();
    expect(strict).toBe(
      `ValueError: mrcfile-reader: ${data('EMD-3197.map')} is not a valid MRC2014 file (mrcfile.validate): ` +
        'File does not declare MRC format version 20140 or 20141: nversion = 0 (set validation to "warn" to read it anyway)',
    );

    session.setParams('mrc', { path: join(folder, 'noisy.mrc') });
    await session.run();
    const [valid] = session.outputs('mrc', 'section') as NDArray[];
    expect([valid.shape, valid.meta.validation, valid.meta.pixelSize]).toEqual([[192, 256], [], [1.5, 1.5]]);

    for (const validation of ['strict', 'warn', 'off']) {
      session.setParams('mrc', { path: truncated, validation });
      const detail = await failure();
      expect(detail).toBe(`ValueError: mrcfile-reader: ${truncated}: not a readable MRC file: Expected 32000 bytes in data block but limit is 18976 (truncated?)`);
    }
  });

  it('emflow run: a truncated MRC file is exit 1 and one line naming the node and the file; no process or shared memory is left', () => {
    const folder = scratch();
    const truncated = join(folder, 'cut.map');
    writeFileSync(truncated, readFileSync(data('EMD-3001.map')).subarray(0, 1024 + 160 + 1000));
    const document = join(folder, 'read.json');
    writeFileSync(document, JSON.stringify({ emflow: 1, name: 'truncated', nodes: [{ id: 'mrc', operator: 'mrcfile-reader', params: { path: 'cut.map', validation: 'warn' } }], edges: [] }));
    const marker = `pyops-${process.pid}-${Date.now()}`;
    const before = new Set(readdirSync('/dev/shm'));
    const result = spawnSync(process.execPath, [cli, 'run', document], { encoding: 'utf8', env: { ...process.env, EMFLOW_TEST_MARKER: marker }, timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `emflow: run failed: node "mrc" (mrcfile-reader) on frame 0: ValueError: mrcfile-reader: ${truncated}: not a readable MRC file: Expected 313900 bytes in data block but limit is 1000 (truncated?)`,
    ]);
    // the operators inherit the marker: none may be alive, and no session folder of this run may remain
    const alive = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && readOrEmpty(`/proc/${pid}/environ`).includes(`EMFLOW_TEST_MARKER=${marker}\0`));
    expect(alive).toEqual([]);
    const ownedByRun = (name: string) => (JSON.parse(readOrEmpty(join('/dev/shm', name, 'owner.json')) || '{}') as { pid?: number }).pid === result.pid;
    const left = readdirSync('/dev/shm').filter((name) => name.startsWith('emflow-') && !before.has(name) && ownedByRun(name));
    expect(left).toEqual([]);
  });
});

type Shift = { frame: number; dy: number; dx: number; error: number; phasediff: number };

describe('drift-estimate', () => {
  let folder: string;
  let truth: { periodic: number[][]; cropped: number[][]; reference: Encoded; croppedReference: Encoded };
  beforeAll(() => {
    folder = scratch();
    truth = reference('drift-frames', folder);
  });

  it('against the stream’s first frame, phase correlation: integer and sub-pixel shifts of the Tomviz image found to 0.01 px (upsampleFactor 100), frames aligned back onto it to 1e-3; the next run’s stream against its own first frame to 0.1 px', async () => {
    const session = await open({
      emflow: 1,
      name: 'drift against frame 0',
      nodes: [
        { id: 'stream', operator: 'mrc-reader', params: { path: join(folder, 'periodic.mrc'), sections: 'frames' } },
        { id: 'drift', operator: 'drift-estimate', params: { upsampleFactor: 100, normalization: 'phase', align: true } },
      ],
      edges: [{ from: { node: 'stream', port: 'section' }, to: { node: 'drift', port: 'image' } }],
    });
    await session.run();
    // 8 frames through a ring of 3 slots: frame 0's slot holds frame 3 by then, so a reference kept as a view would be wrong
    const shifts = (session.outputs('drift', 'shift') as JsonFrame<Shift>[]).map((f) => f.value);
    expect(shifts.map((s) => s.frame)).toEqual(truth.periodic.map((_, i) => i));
    shifts.forEach((s, i) => {
      const [dy, dx] = truth.periodic[i];
      expect(Math.abs(s.dy - dy), `frame ${i} dy ${s.dy}, truth ${dy}`).toBeLessThanOrEqual(0.01);
      expect(Math.abs(s.dx - dx), `frame ${i} dx ${s.dx}, truth ${dx}`).toBeLessThanOrEqual(0.01);
    });
    expect(shifts[0]).toMatchObject({ dy: 0, dx: 0 });
    // aligned frames: the shifts are exact (measured: max |difference| 1.5e-13 after whole-pixel shifts, 1.5e-5 after the
    // sub-pixel ones, whose frames were stored as float32), so each frame moved back is the image again
    const image = valuesOf(truth.reference);
    const aligned = session.outputs('drift', 'aligned') as NDArray[];
    expect(aligned).toHaveLength(truth.periodic.length);
    aligned.forEach((frame, i) => {
      expect([frame.dtype, frame.shape]).toEqual(['float32', [401, 401]]);
      expect(maxAbsDifference(frame.values(), image), `frame ${i}`).toBeLessThanOrEqual(1e-3);
    });

    // the next run reads another stream: its own first frame is the reference now (kept warm across runs, never stale)
    session.setParams('stream', { path: join(folder, 'cropped.mrc') });
    session.setParams('drift', { normalization: 'none', align: false });
    await session.run();
    const relative = (session.outputs('drift', 'shift') as JsonFrame<Shift>[]).map((f) => f.value);
    expect(relative).toHaveLength(truth.cropped.length);
    relative.forEach((s, i) => {
      const [dy, dx] = [truth.cropped[i][0] - truth.cropped[0][0], truth.cropped[i][1] - truth.cropped[0][1]];
      expect(Math.abs(s.dy - dy), `frame ${i}`).toBeLessThanOrEqual(0.1);
      expect(Math.abs(s.dx - dx), `frame ${i}`).toBeLessThanOrEqual(0.1);
    });
    expect(session.outputs('drift', 'aligned')).toEqual([]);
  });

  it('against a reference input, plain cross-correlation (the default): spline-shifted crops (every frame shifted, edges not periodic) to 0.075 px at upsampleFactor 20; whole pixels after re-tuning it, warm', async () => {
    const session = await open({
      emflow: 1,
      name: 'drift against a reference',
      nodes: [
        { id: 'reference', operator: 'mrc-reader', params: { path: join(folder, 'reference.mrc'), sections: 'frames' } },
        { id: 'stream', operator: 'mrc-reader', params: { path: join(folder, 'cropped.mrc'), sections: 'frames' } },
        { id: 'drift', operator: 'drift-estimate' },
      ],
      edges: [
        { from: { node: 'stream', port: 'section' }, to: { node: 'drift', port: 'image' } },
        { from: { node: 'reference', port: 'section' }, to: { node: 'drift', port: 'reference' } },
      ],
    });
    const pids = processesOf(session.paths.dir).sort();
    await session.run();
    const shifts = (session.outputs('drift', 'shift') as JsonFrame<Shift>[]).map((f) => f.value);
    expect(shifts).toHaveLength(truth.cropped.length);
    // measured: at most 0.05 px off (the 1/20 px grid); the normalised RMS error 0.025…0.08
    const errors = shifts.map((s, i) => Math.max(Math.abs(s.dy - truth.cropped[i][0]), Math.abs(s.dx - truth.cropped[i][1])));
    expect(Math.max(...errors)).toBeLessThanOrEqual(0.075);
    for (const s of shifts) expect(s.error).toBeLessThan(0.15);

    session.setParams('drift', { upsampleFactor: 1 });
    const report = await session.run();
    expect([report.nodes.reference.cached, report.nodes.stream.cached, report.nodes.drift.cached]).toEqual([true, true, false]);
    const whole = (session.outputs('drift', 'shift') as JsonFrame<Shift>[]).map((f) => f.value);
    whole.forEach((s, i) => {
      expect([s.dy, s.dx].every(Number.isInteger)).toBe(true);
      expect(Math.abs(s.dy - truth.cropped[i][0])).toBeLessThanOrEqual(0.5);
      expect(Math.abs(s.dx - truth.cropped[i][1])).toBeLessThanOrEqual(0.5);
    });
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
  });
});

describe('nlm-denoise', () => {
  const paramSets = [
    { h: 0, hFactor: 0.8, sigma: 0, patchSize: 5, patchDistance: 6, fastMode: true, subtractNoise: true }, // the defaults
    { h: 15, hFactor: 0.8, sigma: 10, patchSize: 7, patchDistance: 5, fastMode: true, subtractNoise: false },
    { h: 0, hFactor: 0.6, sigma: 0, patchSize: 5, patchDistance: 3, fastMode: false, subtractNoise: true },
  ];

  it('equals skimage.restoration.denoise_nl_means called directly in another process (fast and classic, σ estimated or given) to float32 rounding', async () => {
    const session = await open({
      emflow: 1,
      name: 'nlm against scikit-image',
      nodes: [
        { id: 'tiff', operator: 'tiff-reader', params: { path: data('tomviz-sample.tiff') } },
        { id: 'defaults', operator: 'nlm-denoise', params: {} },
        { id: 'given', operator: 'nlm-denoise', params: paramSets[1] },
        { id: 'classic', operator: 'nlm-denoise', params: paramSets[2] },
      ],
      edges: ['defaults', 'given', 'classic'].map((node) => ({ from: { node: 'tiff', port: 'image' }, to: { node, port: 'image' } })),
    });
    await session.run();
    const { results } = reference<{ results: (Encoded & { h: number; sigma: number })[] }>('nlm', JSON.stringify(paramSets));
    ['defaults', 'given', 'classic'].forEach((node, i) => {
      const [frame] = session.outputs(node, 'image') as NDArray[];
      const expected = valuesOf(results[i]);
      expect([frame.dtype, frame.shape]).toEqual(['float32', [401, 401]]);
      // at most one float32 ulp of the largest value (2.5e-5): the same computation on the same float64 input, rounded once
      // to float32 (measured: 0, bit for bit, for all three)
      expect(maxAbsDifference(frame.values(), expected), node).toBeLessThanOrEqual(largest(expected) * 2 ** -23);
      expect(frame.meta.nlmH).toBeCloseTo(results[i].h, 12);
      expect(frame.meta.nlmSigma).toBeCloseTo(results[i].sigma, 12);
      expect(frame.meta.nlmSigmaEstimated).toBe(paramSets[i].sigma === 0);
      expect(frame.meta.source).toBe(data('tomviz-sample.tiff')); // inherited from the TIFF
    });
  });

  it('on a synthetic image with Gaussian noise of σ = 0.1: σ estimated within 3 %, the residual against the clean image drops from 0.1 to below 0.025', async () => {
    const folder = scratch();
    const noisy = reference<{ clean: Encoded; sigma: number; noisyResidualStd: number }>('noisy-image', folder);
    const session = await open({
      emflow: 1,
      name: 'nlm on known noise',
      nodes: [
        { id: 'mrc', operator: 'mrcfile-reader', params: { path: join(folder, 'noisy.mrc') } },
        { id: 'nlm', operator: 'nlm-denoise' },
      ],
      edges: [{ from: { node: 'mrc', port: 'section' }, to: { node: 'nlm', port: 'image' } }],
    });
    await session.run();
    const [denoised] = session.outputs('nlm', 'image') as NDArray[];
    const clean = valuesOf(noisy.clean);
    expect(denoised.shape).toEqual(noisy.clean.shape);
    expect(Math.abs(noisy.noisyResidualStd - noisy.sigma)).toBeLessThan(0.002);
    // measured: σ̂ = 0.1005, residual std 0.0171 (noisy: 0.0996)
    expect(Math.abs((denoised.meta.nlmSigma as number) / noisy.sigma - 1)).toBeLessThan(0.03);
    const residual = std(Float64Array.from(denoised.values(), (v, i) => v - clean[i]));
    expect(residual).toBeLessThan(0.025);
    expect(denoised.meta.pixelSize).toEqual([1.5, 1.5]); // from the MRC header, through the Python operators
  });
});

describe('the example pipelines/python-denoise.json', () => {
  it('tiff-reader → nlm-denoise → fft-power → png-writer: the denoised image and its diffractogram as scikit-image and NumPy compute them, both PNGs written', async () => {
    const results = scratch();
    const session = await open(exampleWritingInto('python-denoise', results, 'process'), { baseDir: join(root, 'pipelines') });
    await session.run();
    const expected = reference<{ denoised: Encoded; spectrum: Encoded }>('example');
    const [denoised] = session.outputs('denoise', 'image') as NDArray[];
    const values = valuesOf(expected.denoised);
    expect(maxAbsDifference(denoised.values(), values)).toBeLessThanOrEqual(largest(values) * 2 ** -23);
    const [spectrum] = session.outputs('fft', 'spectrum') as NDArray[];
    const reference_ = valuesOf(expected.spectrum);
    expect(spectrum.shape).toEqual(expected.spectrum.shape);
    // measured: denoised 0 (bit for bit), spectrum 2e-17 of a largest value 25.0
    expect(maxAbsDifference(spectrum.values(), reference_)).toBeLessThanOrEqual(1e-6 * largest(reference_));
    const written = readdirSync(join(results, 'process')).sort();
    expect(written).toEqual(['png-denoised-00.out', 'png-fft-00.out']);
    const size = (file: string) => {
      const png = readFileSync(join(results, 'process', file));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      return [png.readUInt32BE(16), png.readUInt32BE(20)];
    };
    expect([size('png-denoised-00.out'), size('png-fft-00.out')]).toEqual([
      [401, 401],
      [256, 256],
    ]);
  });
});
