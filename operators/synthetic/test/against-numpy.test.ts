// synthetic's frames, taken from the operator as the engine takes them, measured by NumPy and SciPy from .npy files
// (fixtures/measure_synthetic.py) and held to the documented geometry and statistics: standard normal noise; a
// lattice of unit Gaussians (sigma 1.5 px) every 16 px from 8 px plus a sub-pixel offset, under 0.05-sd noise; one
// Gaussian blob per 4096 px, amplitude 0.5…1.5, sigma 2…6 px, centre anywhere in the image. Nothing here depends on
// how the operator computes its pixels, only on what they are.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { localContext, NDArray, type LocalContext } from '@emflow/sdk';
import { firstDifference, pythonJson, saveNpy } from '../../../test/helpers.js';
import { Synthetic } from '../src/index.js';

type Pattern = 'noise' | 'gaussian-blobs' | 'lattice';
interface Params {
  pattern: Pattern;
  width: number;
  height: number;
  count: number;
  seed: number;
}

const measure = fileURLToPath(new URL('./fixtures/measure_synthetic.py', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'emflow-synthetic-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every frame the operator emits, copied out of its output buffer (which a reusing context hands out again). */
function frames(params: Params, ctx: LocalContext = localContext('synthetic')): NDArray[] {
  const images: NDArray[] = [];
  for (const { image } of new Synthetic().process({}, params, ctx)) images.push(new NDArray(image.data.slice(), image.shape, image.meta, image.dtype));
  return images;
}

/** The frames of these runs saved as .npy files for NumPy, in order. */
function saved(name: string, ...runs: Params[]): string[] {
  mkdirSync(join(scratch, name));
  return runs.flatMap((params, run) =>
    frames(params).map((image, k) => {
      const path = join(scratch, name, `${run}-${k}.npy`);
      saveNpy(path, image);
      return path;
    }),
  );
}

const patterns: Pattern[] = ['noise', 'gaussian-blobs', 'lattice'];

describe('synthetic frames', () => {
  for (const pattern of patterns) {
    it(`${pattern}: count float32 frames of height × width, with pixel units`, () => {
      const images = frames({ pattern, width: 37, height: 23, count: 3, seed: 5 });
      expect(images).toHaveLength(3);
      for (const image of images) {
        expect([image.dtype, image.shape]).toEqual(['float32', [23, 37]]);
        expect(image.meta).toEqual({ source: `synthetic:${pattern}`, units: 'px', pixelSize: [1, 1] });
        expect(image.data.every(Number.isFinite)).toBe(true);
      }
    });

    it(`${pattern}: the same params give the same pixels; another seed, and every other frame, others`, () => {
      const params = { pattern, width: 64, height: 48, count: 3, seed: 11 };
      const images = frames(params);
      frames(params).forEach((again, k) => expect(firstDifference(again.data, images[k].data), `frame ${k}`).toBeUndefined());
      // frame k depends on (seed, k) only, not on how many frames the run has
      frames({ ...params, count: 5 })
        .slice(0, 3)
        .forEach((longer, k) => expect(firstDifference(longer.data, images[k].data), `frame ${k}`).toBeUndefined());
      frames({ ...params, seed: 12 }).forEach((other, k) => expect(firstDifference(other.data, images[k].data)).toBeDefined());
      expect(firstDifference(images[1].data, images[0].data)).toBeDefined();
      expect(firstDifference(images[2].data, images[1].data)).toBeDefined();
    });
  }

  it('gives the same pixels when its output buffer is reused and still holds an earlier frame (as engine slots do)', () => {
    const reusing = localContext('synthetic', { reuse: true });
    const runs = [...patterns, ...patterns].map((pattern, run) => ({ pattern, width: 40, height: 30, count: 2, seed: run }));
    for (const params of runs) {
      const fresh = frames(params);
      frames(params, reusing).forEach((image, k) => expect(firstDifference(image.data, fresh[k].data), `${params.pattern}, frame ${k}`).toBeUndefined());
    }
  });
});

describe('noise, measured by NumPy and SciPy', () => {
  it('is standard normal, with neighbouring pixels and consecutive frames uncorrelated (5-sigma bounds)', () => {
    const m = pythonJson<Record<string, number>>(measure, 'noise', ...saved('noise', { pattern: 'noise', width: 512, height: 512, count: 2, seed: 12345 }));
    const n = 512 * 512;
    expect(m.n).toBe(n);
    // standard errors: mean 1/√n, std 1/√(2n), skewness √(6/n), excess kurtosis √(24/n), a proportion √(p(1−p)/n), a correlation 1/√n
    expect(Math.abs(m.mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m.std - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
    expect(Math.abs(m.skew)).toBeLessThan(5 * Math.sqrt(6 / n));
    expect(Math.abs(m.excessKurtosis)).toBeLessThan(5 * Math.sqrt(24 / n));
    const p = 0.682689492137; // P(|z| < 1)
    expect(Math.abs(m.withinOne - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    expect(m.ksPValue).toBeGreaterThan(1e-4);
    for (const key of ['correlationX', 'correlationY', 'correlationFrames']) expect(Math.abs(m[key]), key).toBeLessThan(5 / Math.sqrt(n));
  });
});

interface LatticeFit {
  width: number;
  height: number;
  peaks: { pixel: [number, number]; interior: boolean; x: number; y: number; amplitude: number; sigma: number; offset: number; xError: number }[];
  background: { count: number; mean: number; std: number };
}

describe('lattice, measured by NumPy and SciPy', () => {
  const runs = [21, 4, 99].map((seed) => ({ pattern: 'lattice' as const, width: 200, height: 150, count: 2, seed }));
  const fits = () => pythonJson<LatticeFit[]>(measure, 'lattice', ...saved('lattice', ...runs));

  it('has unit Gaussian peaks of sigma 1.5 px on a 16 px grid from 8 px plus a sub-pixel offset, over 0.05-sd noise', () => {
    const origins: number[] = [];
    for (const [k, { peaks, background }] of fits().entries()) {
      // columns at 8 + δ + 16i < 200 and rows at 8 + δ + 16j < 150: 12 × 9 for every offset δ in [0, 1)
      expect(peaks).toHaveLength(12 * 9);
      expect(peaks.every((p) => p.interior)).toBe(true);
      for (const axis of ['x', 'y'] as const) {
        const positions = peaks.map((p) => p[axis]);
        const index = positions.map((v) => Math.round((v - 8.5) / 16));
        // the spacing by least squares; the origin with the documented spacing
        const n = positions.length;
        const meanIndex = index.reduce((a, b) => a + b) / n;
        const meanPosition = positions.reduce((a, b) => a + b) / n;
        const spacing = index.reduce((s, i, j) => s + (i - meanIndex) * (positions[j] - meanPosition), 0) / index.reduce((s, i) => s + (i - meanIndex) ** 2, 0);
        expect(Math.abs(spacing - 16), `frame ${k}, ${axis} spacing`).toBeLessThan(0.005);
        const origin = meanPosition - 16 * meanIndex;
        expect(origin, `frame ${k}, ${axis} origin`).toBeGreaterThan(8 - 0.02);
        expect(origin, `frame ${k}, ${axis} origin`).toBeLessThan(9 + 0.02);
        // every peak on the grid, to within the noise's effect on its fit (x and y have the same standard error, ≈ 0.03 px)
        peaks.forEach((p, j) => expect(Math.abs(positions[j] - (origin + 16 * index[j])), `frame ${k}, peak ${j}, ${axis}`).toBeLessThan(Math.max(6 * p.xError, 0.05)));
        origins.push(origin);
      }
      const mean = (values: number[]) => values.reduce((a, b) => a + b) / values.length;
      expect(Math.abs(mean(peaks.map((p) => p.amplitude)) - 1)).toBeLessThan(0.02);
      expect(Math.abs(mean(peaks.map((p) => p.sigma)) - 1.5)).toBeLessThan(0.02);
      expect(Math.abs(mean(peaks.map((p) => p.offset)))).toBeLessThan(0.01);
      // pixels ≥ 7 px (4.7 sigma) from every peak: the noise alone; standard errors 0.05/√n and 0.05/√(2n)
      expect(background.count).toBeGreaterThan(10_000);
      expect(Math.abs(background.mean)).toBeLessThan((5 * 0.05) / Math.sqrt(background.count));
      expect(Math.abs(background.std - 0.05)).toBeLessThan((5 * 0.05) / Math.sqrt(2 * background.count));
    }
    // the sub-pixel offsets differ between seeds and frames
    expect(Math.max(...origins) - Math.min(...origins)).toBeGreaterThan(0.1);
  });
});

interface BlobFit {
  amplitude: number;
  x: number;
  y: number;
  sigma: number;
  maxResidual: number;
  min: number;
  reach: number;
}

describe('gaussian-blobs, measured by NumPy and SciPy', () => {
  it('an image of up to 6144 px is one Gaussian blob, its parameters uniform over the documented ranges', () => {
    const runs = [
      { pattern: 'gaussian-blobs' as const, width: 64, height: 64, count: 80, seed: 1 },
      { pattern: 'gaussian-blobs' as const, width: 100, height: 40, count: 20, seed: 2 },
      { pattern: 'gaussian-blobs' as const, width: 90, height: 60, count: 20, seed: 3 },
    ];
    const { blobs, uniformity } = pythonJson<{ blobs: BlobFit[]; uniformity: Record<string, number> }>(measure, 'blob', ...saved('blob', ...runs));
    const sizes = runs.flatMap(({ width, height, count }) => Array<[number, number]>(count).fill([width, height]));
    expect(blobs).toHaveLength(sizes.length);
    blobs.forEach((blob, k) => {
      const [width, height] = sizes[k];
      // the fitted Gaussian is the image, but for float32 rounding and the tail cut off beyond 5 sigma (< 4e-6 of the amplitude)
      expect(blob.maxResidual, `frame ${k}`).toBeLessThan(1e-5);
      expect(blob.min).toBe(0);
      expect(blob.reach, `frame ${k}`).toBeLessThanOrEqual(5 * blob.sigma + 1);
      expect(blob.amplitude).toBeGreaterThanOrEqual(0.5);
      expect(blob.amplitude).toBeLessThan(1.5);
      expect(blob.sigma).toBeGreaterThanOrEqual(2);
      expect(blob.sigma).toBeLessThan(6);
      expect(blob.x).toBeGreaterThanOrEqual(0);
      expect(blob.x).toBeLessThan(width);
      expect(blob.y).toBeGreaterThanOrEqual(0);
      expect(blob.y).toBeLessThan(height);
    });
    // Kolmogorov–Smirnov against uniform: a correct generator fails this on a given set of frames one time in 1000
    for (const [parameter, p] of Object.entries(uniformity)) expect(p, parameter).toBeGreaterThan(1e-3);
  });

  it('a 256 × 256 image holds 16 non-negative blobs', () => {
    const m = pythonJson<{ maxima: number; sum: number; min: number; max: number }>(measure, 'blobs', ...saved('blobs', { pattern: 'gaussian-blobs', width: 256, height: 256, count: 1, seed: 3 }));
    expect(m.min).toBe(0);
    // overlapping blobs may merge into one maximum; none adds one
    expect(m.maxima).toBeGreaterThanOrEqual(8);
    expect(m.maxima).toBeLessThanOrEqual(16);
    // each blob holds amplitude · 2π·sigma², at least a quarter of it inside the image (a centre in a corner)
    expect(m.sum).toBeGreaterThan(16 * 0.5 * 2 * Math.PI * 2 ** 2 * 0.25);
    expect(m.sum).toBeLessThan(16 * 1.5 * 2 * Math.PI * 6 ** 2);
    expect(m.max).toBeLessThan(16 * 1.5);
  });
});
