import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, NDArray } from '@emflow/sdk';
import { latticePeaks, synthesize } from '../../synthetic/src/patterns.js';
import { findLocalMaxima, peakThreshold } from '../src/maxima.js';
import { GaussianFitter } from '../src/gaussian-fit.js';
import { findPeaks, type PeakOptions } from '../src/peaks.js';
import { PeakFind } from '../src/index.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);

interface Manifest {
  maxima: { image: string; cases: { minDistance: number; excludeBorder: number; threshold: number; maxima: [number, number][] }[] };
  fits: { image: string; minDistance: number; excludeBorder: number; threshold: number; fitRadius: number; peaks: { x: number; y: number; height: number; sigma: number }[] };
}
const manifest = JSON.parse(readFileSync(`${fixtureDir}manifest.json`, 'utf8')) as Manifest;

const defaults: PeakOptions = { threshold: 3, thresholdMode: 'sigma', minDistance: 5, excludeBorder: 5, fitRadius: 3, maxPeaks: 10000 };

/** Row-major image of Gaussians (amplitude, x, y, sigma) on a constant. */
function gaussians(width: number, height: number, offset: number, blobs: [number, number, number, number][]): Float64Array {
  const image = new Float64Array(width * height).fill(offset);
  for (const [amplitude, cx, cy, sigma] of blobs) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) image[y * width + x] += amplitude * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
    }
  }
  return image;
}

describe('findLocalMaxima vs scipy.ndimage.maximum_filter', () => {
  const image = readNpy(manifest.maxima.image);
  const [height, width] = image.shape;

  for (const { minDistance, excludeBorder, threshold, maxima } of manifest.maxima.cases) {
    it(`minDistance ${minDistance}, excludeBorder ${excludeBorder}, threshold ${threshold}: ${maxima.length} maxima`, () => {
      const ours = findLocalMaxima(image.data, width, height, { minDistance, excludeBorder, threshold });
      expect(ours.map((i) => [Math.floor(i / width), i % width])).toEqual(maxima);
    });
  }
});

describe('findPeaks', () => {
  it('refines peaks as scipy.optimize.curve_fit does on the same windows', () => {
    const { image: file, peaks: expected, ...options } = manifest.fits;
    const image = readNpy(file);
    const [height, width] = image.shape;
    const peaks = findPeaks(image.data, width, height, { ...defaults, ...options, thresholdMode: 'absolute' });
    expect(peaks.x.length).toBe(expected.length);
    expected.forEach((reference, i) => {
      expect(peaks.x[i]).toBeCloseTo(reference.x, 6);
      expect(peaks.y[i]).toBeCloseTo(reference.y, 6);
      expect(peaks.sigma[i]).toBeCloseTo(reference.sigma, 6);
      expect(peaks.height[i]).toBeCloseTo(reference.height, 6);
    });
  });

  for (const [width, height, seed] of [
    [100, 80, 1],
    [90, 75, 7],
    [256, 256, 3],
  ]) {
    it(`locates the synthetic lattice ${width}×${height} (seed ${seed}) to the noise limit`, () => {
      const image = synthesize('lattice', width, height, seed, 0);
      const peaks = findPeaks(image, width, height, defaults);
      // Every lattice point whose pixel maximum lies ≥ excludeBorder (5 px) from the edges, and nothing else.
      const border = defaults.excludeBorder;
      const inside = latticePeaks(width, height, seed, 0).filter(
        ({ x, y }) => Math.round(x) >= border && Math.round(x) < width - border && Math.round(y) >= border && Math.round(y) < height - border,
      );
      expect(peaks.x.length).toBe(inside.length);
      // Pixel noise 0.05 on unit σ = 1.5 px peaks limits any unbiased estimator to an rms error of
      // 0.05·√(2/π) ≈ 0.040 px per axis (Cramér–Rao), so 0.05 px bounds the rms, not every peak.
      let squares = 0;
      let worst = 0;
      for (let i = 0; i < peaks.x.length; i++) {
        const nearest = inside.reduce((best, p) => (Math.hypot(p.x - peaks.x[i], p.y - peaks.y[i]) < Math.hypot(best.x - peaks.x[i], best.y - peaks.y[i]) ? p : best));
        squares += (nearest.x - peaks.x[i]) ** 2 + (nearest.y - peaks.y[i]) ** 2;
        worst = Math.max(worst, Math.hypot(nearest.x - peaks.x[i], nearest.y - peaks.y[i]));
        expect(peaks.sigma[i]).toBeGreaterThan(1.3);
        expect(peaks.sigma[i]).toBeLessThan(1.7);
      }
      expect(Math.sqrt(squares / (2 * peaks.x.length))).toBeLessThan(0.05);
      expect(worst).toBeLessThan(0.2);
    });
  }

  it('recovers an isolated noise-free Gaussian at a sub-pixel position', () => {
    const image = gaussians(31, 27, 0.25, [[2, 14.37, 12.81, 1.73]]);
    const peaks = findPeaks(image, 31, 27, defaults);
    expect(peaks.x.length).toBe(1);
    expect(Math.abs(peaks.x[0] - 14.37)).toBeLessThan(1e-3);
    expect(Math.abs(peaks.y[0] - 12.81)).toBeLessThan(1e-3);
    expect(Math.abs(peaks.sigma[0] - 1.73)).toBeLessThan(1e-3);
    expect(peaks.height[0]).toBeCloseTo(2.25, 6);
  });

  it('sorts by fitted height, highest first, and keeps only the maxPeaks highest maxima', () => {
    const blobs: [number, number, number, number][] = [
      [1, 10, 10, 1.5],
      [3, 30, 10, 1.5],
      [2, 10, 30, 1.5],
      [4, 30, 30, 1.5],
    ];
    const image = gaussians(41, 41, 0, blobs);
    const all = findPeaks(image, 41, 41, { ...defaults, thresholdMode: 'absolute', threshold: 0.5 });
    expect(Array.from(all.height, (h) => Number(h.toFixed(6)))).toEqual([4, 3, 2, 1]);
    expect(Array.from(all.x, Math.round)).toEqual([30, 30, 10, 10]);
    const top = findPeaks(image, 41, 41, { ...defaults, thresholdMode: 'absolute', threshold: 0.5, maxPeaks: 2 });
    expect(Array.from(top.height, (h) => Number(h.toFixed(6)))).toEqual([4, 3]);
  });

  it('keeps integer positions and NaN sigma when refinement is off or fails', () => {
    const smooth = gaussians(21, 21, 0, [[1, 10.3, 9.6, 1.5]]);
    const unrefined = findPeaks(smooth, 21, 21, { ...defaults, fitRadius: 0 });
    expect([unrefined.x[0], unrefined.y[0], unrefined.height[0]]).toEqual([10, 10, smooth[10 * 21 + 10]]);
    expect(unrefined.sigma[0]).toBeNaN();

    // A lone hot pixel is no Gaussian the window can measure.
    const hot = new Float64Array(21 * 21);
    hot[7 * 21 + 12] = 5;
    const fallback = findPeaks(hot, 21, 21, defaults);
    expect([fallback.x[0], fallback.y[0], fallback.height[0]]).toEqual([12, 7, 5]);
    expect(fallback.sigma[0]).toBeNaN();
  });

  it('finds nothing in a flat image, in either threshold mode', () => {
    const flat = new Float32Array(30 * 20).fill(7);
    expect(findPeaks(flat, 30, 20, defaults).x.length).toBe(0);
    expect(findPeaks(flat, 30, 20, { ...defaults, thresholdMode: 'absolute', threshold: 0, excludeBorder: 0 }).x.length).toBe(0);
  });

  it('never reports NaN pixels, and NaN neighbours neither hide peaks nor spoil fits', () => {
    const image = gaussians(40, 30, 0, [
      [2, 10.2, 10.4, 1.5],
      [1, 28.7, 18.1, 1.5],
    ]);
    image[10 * 40 + 10] = NaN; // the top of the first peak
    image[17 * 40 + 30] = NaN; // inside the second peak's fit window
    for (let x = 0; x < 40; x++) image[25 * 40 + x] = NaN;
    const peaks = findPeaks(image, 40, 30, { ...defaults, thresholdMode: 'absolute', threshold: 0.3 });
    for (let i = 0; i < peaks.x.length; i++) expect(Number.isFinite(peaks.height[i])).toBe(true);
    // The first peak is still found around its missing top, from a neighbouring maximum.
    expect(peaks.x.length).toBe(2);
    expect(peaks.x[0]).toBeCloseTo(10.2, 6);
    expect(peaks.y[0]).toBeCloseTo(10.4, 6);
    expect(peaks.x[1]).toBeCloseTo(28.7, 6);
    expect(peaks.y[1]).toBeCloseTo(18.1, 6);
    expect(findPeaks(new Float32Array(9).fill(NaN), 3, 3, { ...defaults, excludeBorder: 0 }).x.length).toBe(0);
  });

  it('drops peaks inside the excluded border and keeps them when excludeBorder is 0', () => {
    const image = gaussians(30, 30, 0, [[1, 2, 15, 1]]);
    expect(findPeaks(image, 30, 30, defaults).x.length).toBe(0);
    const kept = findPeaks(image, 30, 30, { ...defaults, excludeBorder: 0 });
    expect(kept.x[0]).toBeCloseTo(2, 6);
    // One pixel from the edge the fit window is clipped and the fit still holds.
    const edge = gaussians(30, 30, 0, [[1, 1.2, 15, 1]]);
    expect(findPeaks(edge, 30, 30, { ...defaults, excludeBorder: 0 }).x[0]).toBeCloseTo(1.2, 6);
  });

  it('rejects bad params and empty images, naming them', () => {
    const image = new Float32Array(16);
    expect(() => findPeaks(image, 4, 4, { ...defaults, minDistance: 0 })).toThrow('peak-find: param "minDistance" = 0; expected an integer ≥ 1');
    expect(() => findPeaks(image, 4, 4, { ...defaults, excludeBorder: -1 })).toThrow('peak-find: param "excludeBorder" = -1; expected an integer ≥ 0');
    expect(() => findPeaks(image, 4, 4, { ...defaults, fitRadius: 1.5 })).toThrow('peak-find: param "fitRadius" = 1.5; expected an integer ≥ 0');
    expect(() => findPeaks(image, 4, 4, { ...defaults, maxPeaks: 0 })).toThrow('peak-find: param "maxPeaks" = 0; expected an integer ≥ 1');
    expect(() => findPeaks(image, 4, 4, { ...defaults, threshold: NaN })).toThrow('peak-find: param "threshold" = NaN; expected a finite number');
    expect(() => findPeaks(image, 4, 4, { ...defaults, thresholdMode: 'otsu' as 'sigma' })).toThrow(
      `peak-find: param "thresholdMode" = otsu; expected 'absolute' or 'sigma'`,
    );
    expect(() => findPeaks(new Float32Array(0), 0, 0, defaults)).toThrow('peak-find: input "image" is 0×0 pixels; expected a non-empty image');
  });
});

describe('peakThreshold', () => {
  it('is mean + k·std of the finite pixels in sigma mode', () => {
    // Finite pixels 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population std 2.
    expect(peakThreshold([2, 4, NaN, 4, 4, 5, 5, 7, 9, -Infinity], 'sigma', 1.5)).toBe(8);
    expect(peakThreshold([2, 4], 'absolute', 1.5)).toBe(1.5);
  });
});

describe('GaussianFitter', () => {
  it('refuses a fit radius below 1', () => {
    expect(() => new GaussianFitter(0)).toThrow(/"fitRadius" = 0/);
  });
});

describe('PeakFind operator', () => {
  const operator = new PeakFind();
  const params = { threshold: 3, thresholdMode: 'sigma' as const, minDistance: 5, fitRadius: 3, maxPeaks: 10000 };

  it('returns a float64 table of x, y, height, sigma with excludeBorder defaulting to minDistance', () => {
    const values = Float32Array.from(gaussians(40, 30, 0, [[1, 4.3, 15, 1.5], [2, 20.4, 14.6, 1.5]]));
    const image = new NDArray(values, [30, 40]);
    const { peaks } = operator.process({ image }, params);
    expect(peaks.table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['x:Float64', 'y:Float64', 'height:Float64', 'sigma:Float64']);
    // The peak at x = 4.3 is within minDistance (5 px) of the edge.
    expect(peaks.table.numRows).toBe(1);
    expect(peaks.table.getChild('x')?.get(0)).toBeCloseTo(20.4, 5);
    expect(operator.process({ image }, { ...params, excludeBorder: 2 }).peaks.table.numRows).toBe(2);
    const flat = new NDArray(new Float32Array(100), [10, 10]);
    expect(operator.process({ image: flat }, params).peaks.table.numRows).toBe(0);
  });

  it('rejects a wrong-rank input', () => {
    const row = new NDArray(new Float32Array(5), [5]);
    expect(() => operator.process({ image: row }, params)).toThrow('peak-find: input "image": expected image2d (a 2-D array), got a 1-D array');
  });
});
