import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeStats, type FrameStats } from '../src/stats.js';
import { decodeNpy } from '@emflow/sdk';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const expected = JSON.parse(readFileSync(`${fixtureDir}expected.json`, 'utf8')) as Record<string, FrameStats>;

function expectRelativelyClose(actual: number, reference: number, tolerance = 1e-9): void {
  expect(Math.abs(actual - reference)).toBeLessThanOrEqual(tolerance * Math.abs(reference));
}

describe('computeStats vs numpy (dtype=float64, ddof=0)', () => {
  it('has the expected fixture set', () => {
    expect(Object.keys(expected)).toEqual(['float32_100x80.npy', 'int16_100x80.npy', 'float64_offset_5000.npy']);
  });

  for (const [file, reference] of Object.entries(expected)) {
    it(file, () => {
      // the kernel gets the file's own element type, as an operator would receive it
      const stats = computeStats(decodeNpy(readFileSync(fixtureDir + file), file).data);
      expectRelativelyClose(stats.mean, reference.mean);
      expectRelativelyClose(stats.std, reference.std);
      expectRelativelyClose(stats.sum, reference.sum);
      expect(stats.min).toBe(reference.min);
      expect(stats.max).toBe(reference.max);
    });
  }
});

describe('computeStats', () => {
  it('gives std exactly 0 and mean exactly the value for a constant frame', () => {
    for (const value of [0.1, -7, 1e300, 3.3]) {
      const stats = computeStats(new Float64Array(1001).fill(value));
      expect(stats.mean).toBe(value);
      expect(stats.std).toBe(0);
      expect(stats.min).toBe(value);
      expect(stats.max).toBe(value);
    }
  });

  it('handles a single element', () => {
    expect(computeStats([42.5])).toEqual({ mean: 42.5, std: 0, min: 42.5, max: 42.5, sum: 42.5 });
  });

  it('computes small hand cases', () => {
    // mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, population variance 4.
    expect(computeStats([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: 2, min: 2, max: 9, sum: 40 });
    expect(computeStats(Int16Array.of(-32768, 32767))).toEqual({
      mean: -0.5,
      std: 32767.5,
      min: -32768,
      max: 32767,
      sum: -1,
    });
  });

  it('keeps the sum exact where naive float64 summation loses it', () => {
    // Plain left-to-right summation returns 0 here.
    expect(computeStats([1e16, 1, -1e16]).sum).toBe(1);
    // Correctly rounded: 10⁶ × fl(0.1) rounds to exactly 100000 (numpy's pairwise sum gives 100000.00000000003).
    const n = 1_000_000;
    const tenths = new Float64Array(n).fill(0.1);
    expect(computeStats(tenths).sum).toBe(100000);
  });

  it('returns NaN in every field when any element is NaN', () => {
    const nan = { mean: NaN, std: NaN, min: NaN, max: NaN, sum: NaN };
    expect(computeStats([1, NaN, 3])).toEqual(nan);
    expect(computeStats(Float32Array.of(NaN))).toEqual(nan);
    expect(computeStats([1, 2, 3, NaN])).toEqual(nan);
  });

  it('follows numpy for infinities', () => {
    expect(computeStats([1, Infinity, 3])).toEqual({ mean: Infinity, std: NaN, min: 1, max: Infinity, sum: Infinity });
    const mixed = computeStats([-Infinity, 0, Infinity]);
    expect(mixed.sum).toBeNaN();
    expect(mixed.mean).toBeNaN();
    expect(mixed.std).toBeNaN();
    expect(mixed.min).toBe(-Infinity);
    expect(mixed.max).toBe(Infinity);
  });

  it('rejects an empty frame', () => {
    expect(() => computeStats([])).toThrow(RangeError);
    expect(() => computeStats(new Float32Array(0))).toThrow('stats: empty frame (0 elements)');
  });
});
