import { describe, expect, it } from 'vitest';
import { latticePeaks, synthesize, type Pattern } from '../src/patterns.js';

const patterns: Pattern[] = ['noise', 'gaussian-blobs', 'lattice'];

function maxOf(image: Float32Array): number {
  let max = -Infinity;
  for (const value of image) max = Math.max(max, value);
  return max;
}

describe('synthesize', () => {
  for (const pattern of patterns) {
    it(`${pattern}: is deterministic and depends on seed and frame`, () => {
      const image = synthesize(pattern, 96, 80, 7, 3);
      expect(image).toBeInstanceOf(Float32Array);
      expect(image.length).toBe(96 * 80);
      expect(image.every(Number.isFinite)).toBe(true);
      expect(synthesize(pattern, 96, 80, 7, 3)).toEqual(image);
      expect(synthesize(pattern, 96, 80, 7, 4)).not.toEqual(image);
      expect(synthesize(pattern, 96, 80, 8, 3)).not.toEqual(image);
    });
  }

  it('noise: frames are uncorrelated', () => {
    const a = synthesize('noise', 256, 256, 1, 0);
    const b = synthesize('noise', 256, 256, 1, 1);
    let dot = 0;
    for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
    // The correlation of independent unit normals has standard error 1/sqrt(n) = 1/256.
    expect(Math.abs(dot / a.length)).toBeLessThan(5 / 256);
  });

  it('noise: is standard normal (512×512, 5-sigma bounds)', () => {
    const n = 512 * 512;
    const image = synthesize('noise', 512, 512, 12345, 0);
    let sum = 0;
    let sumSquares = 0;
    let withinOne = 0;
    for (const z of image) {
      sum += z;
      sumSquares += z * z;
      if (Math.abs(z) < 1) withinOne++;
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSquares / n - mean * mean);
    // Standard errors: mean 1/sqrt(n); std 1/sqrt(2n); a proportion p has sqrt(p(1-p)/n).
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(std - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
    const p = 0.682689492137;
    expect(Math.abs(withinOne / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
  });

  it('noise: handles odd pixel counts', () => {
    const image = synthesize('noise', 3, 3, 0, 0);
    expect(image.length).toBe(9);
    expect(image[8]).not.toBe(0);
  });

  it('gaussian-blobs: a single blob per 4096 px, non-negative, peak within its amplitude range', () => {
    for (let seed = 0; seed < 20; seed++) {
      // 64×64 holds exactly one blob; its sampled peak is at least amp·exp(-0.5·(0.5²+0.5²)/2²) ≥ 0.5·0.939.
      const single = synthesize('gaussian-blobs', 64, 64, seed, 0);
      expect(single.every((v) => v >= 0)).toBe(true);
      const peak = maxOf(single);
      expect(peak).toBeGreaterThanOrEqual(0.5 * Math.exp(-0.5 * (0.5 / 4)));
      expect(peak).toBeLessThanOrEqual(1.5);
    }
  });

  it('gaussian-blobs: larger images are non-negative with bounded overlap', () => {
    const image = synthesize('gaussian-blobs', 256, 256, 3, 9);
    expect(image.every((v) => v >= 0)).toBe(true);
    const peak = maxOf(image);
    expect(peak).toBeGreaterThanOrEqual(0.469);
    expect(peak).toBeLessThanOrEqual(1.5 * 16);
    // Total intensity: 16 blobs of amp·2π·sigma² ∈ [0.5·2π·4, 1.5·2π·36], minus what falls off the edges.
    const total = image.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0.25 * 16 * 0.5 * 2 * Math.PI * 4);
    expect(total).toBeLessThan(16 * 1.5 * 2 * Math.PI * 36);
  });

  it('rejects invalid sizes, seeds and patterns', () => {
    expect(() => synthesize('noise', 0, 4, 1, 0)).toThrow(RangeError);
    expect(() => synthesize('noise', 4.5, 4, 1, 0)).toThrow(RangeError);
    expect(() => synthesize('noise', 4, 4, 0.5, 0)).toThrow(RangeError);
    expect(() => synthesize('stripes' as Pattern, 4, 4, 1, 0)).toThrow(/stripes/);
  });
});

describe('lattice', () => {
  const width = 200;
  const height = 150;

  it('latticePeaks: 16 px grid starting at 8 + a sub-pixel offset that varies with seed and frame', () => {
    const peaks = latticePeaks(width, height, 5, 2);
    const xs = [...new Set(peaks.map((p) => p.x))];
    const ys = [...new Set(peaks.map((p) => p.y))];
    expect(peaks.length).toBe(xs.length * ys.length);
    expect(xs[0]).toBeGreaterThanOrEqual(8);
    expect(xs[0]).toBeLessThan(9);
    expect(ys[0]).toBeGreaterThanOrEqual(8);
    expect(ys[0]).toBeLessThan(9);
    for (let i = 1; i < xs.length; i++) expect(xs[i] - xs[i - 1]).toBeCloseTo(16, 12);
    expect(xs[xs.length - 1]).toBeLessThan(width);
    expect(xs[xs.length - 1] + 16).toBeGreaterThanOrEqual(width);
    expect(ys[ys.length - 1]).toBeLessThan(height);
    expect(ys[ys.length - 1] + 16).toBeGreaterThanOrEqual(height);

    expect(latticePeaks(width, height, 5, 2)).toEqual(peaks);
    expect(latticePeaks(width, height, 5, 3)).not.toEqual(peaks);
    expect(latticePeaks(4, 4, 5, 2)).toEqual([]);
  });

  it('peaks sit at the pixel maxima predicted by latticePeaks', () => {
    for (const [seed, frame] of [[1, 0], [1, 1], [99, 7]]) {
      const image = synthesize('lattice', width, height, seed, frame);
      const peaks = latticePeaks(width, height, seed, frame);
      expect(peaks.length).toBeGreaterThan(50);
      for (const { x, y } of peaks) {
        // Noise-free, the brightest pixel is the one nearest the centre; the 0.05·noise can only swap it
        // with a neighbour of nearly equal value (e.g. centre at .5), never with a pixel 2 px away (> 4 sd).
        let best = -Infinity;
        let bestX = -1;
        let bestY = -1;
        for (let py = Math.max(0, Math.round(y) - 4); py <= Math.min(height - 1, Math.round(y) + 4); py++) {
          for (let px = Math.max(0, Math.round(x) - 4); px <= Math.min(width - 1, Math.round(x) + 4); px++) {
            const value = image[py * width + px];
            if (value > best) [best, bestX, bestY] = [value, px, py];
          }
        }
        expect(Math.abs(bestX - Math.round(x))).toBeLessThanOrEqual(1);
        expect(Math.abs(bestY - Math.round(y))).toBeLessThanOrEqual(1);
        // Amplitude 1 sampled at most (0.5, 0.5) px off-centre, plus 0.05·noise (< 6 sd).
        expect(best).toBeGreaterThan(Math.exp(-0.5 * (0.5 / 2.25)) - 0.3);
        expect(best).toBeLessThan(1 + 0.3);
      }
    }
  });

  it('matches the exact peak model to within the 0.05-sd noise, with no sub-pixel shift', () => {
    const image = synthesize('lattice', width, height, 21, 5);
    const peaks = latticePeaks(width, height, 21, 5);
    // Independent model: sum of unit Gaussians (sigma 1.5) at the reported centres, and its x/y gradients.
    const model = new Float64Array(width * height);
    const gradX = new Float64Array(width * height);
    const gradY = new Float64Array(width * height);
    for (const { x, y } of peaks) {
      for (let py = Math.max(0, Math.floor(y) - 10); py <= Math.min(height - 1, Math.floor(y) + 10); py++) {
        for (let px = Math.max(0, Math.floor(x) - 10); px <= Math.min(width - 1, Math.floor(x) + 10); px++) {
          const g = Math.exp(-((px - x) ** 2 + (py - y) ** 2) / (2 * 1.5 ** 2));
          model[py * width + px] += g;
          gradX[py * width + px] += (g * (px - x)) / 1.5 ** 2;
          gradY[py * width + px] += (g * (py - y)) / 1.5 ** 2;
        }
      }
    }
    let sumSquares = 0;
    let maxAbs = 0;
    let projX = 0;
    let projY = 0;
    let normX = 0;
    let normY = 0;
    for (let i = 0; i < image.length; i++) {
      const residual = image[i] - model[i];
      sumSquares += residual ** 2;
      maxAbs = Math.max(maxAbs, Math.abs(residual));
      projX += residual * gradX[i];
      projY += residual * gradY[i];
      normX += gradX[i] ** 2;
      normY += gradY[i] ** 2;
    }
    const rms = Math.sqrt(sumSquares / image.length);
    expect(rms).toBeGreaterThan(0.048);
    expect(rms).toBeLessThan(0.052);
    expect(maxAbs).toBeLessThan(6 * 0.05);
    // Least-squares estimate of a common shift of all peaks; its standard error is 0.05/sqrt(norm) ≈ 0.004 px.
    expect(Math.abs(projX / normX)).toBeLessThan(5 * 0.05 / Math.sqrt(normX));
    expect(Math.abs(projY / normY)).toBeLessThan(5 * 0.05 / Math.sqrt(normY));
  });

  it('background between peaks is 0.05-sd noise', () => {
    const image = synthesize('lattice', width, height, 4, 0);
    const peaks = latticePeaks(width, height, 4, 0);
    // Pixels halfway between lattice columns and rows are ≥ 7 px (4.7 sigma) from every peak.
    const gapX = Math.round(peaks[0].x + 8);
    const gapY = Math.round(peaks[0].y + 8);
    let sumSquares = 0;
    let count = 0;
    for (let y = gapY; y < height; y += 16) {
      for (let x = gapX; x < width; x += 16) {
        sumSquares += image[y * width + x] ** 2;
        count++;
      }
    }
    expect(count).toBeGreaterThan(50);
    const rms = Math.sqrt(sumSquares / count);
    expect(rms).toBeGreaterThan(0.03);
    expect(rms).toBeLessThan(0.07);
  });
});
