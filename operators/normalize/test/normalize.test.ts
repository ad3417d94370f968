import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '@emflow/sdk';
import { nanPercentiles, percentileInto, zscoreInto } from '../src/normalize.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
interface Case {
  name: string;
  input: string;
  params: { mode: 'zscore' } | { mode: 'percentile'; low: number; high: number; clip: boolean };
  expected: string;
}
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as Case[];
const percentiles = JSON.parse(readFileSync(`${fixtureDir}percentiles.json`, 'utf8')) as Record<string, { q: number[]; values: number[] }>;

function normalize(src: ArrayLike<number>, params: Case['params']): Float32Array {
  const dst = new Float32Array(src.length);
  if (params.mode === 'zscore') zscoreInto(src, dst);
  else percentileInto(src, dst, params.low, params.high, params.clip);
  return dst;
}

describe('normalize vs numpy (nanmean/nanstd/nanpercentile in float64, rounded to float32)', () => {
  it('has the expected fixture set', () => {
    expect(cases).toHaveLength(9);
    expect(Object.keys(percentiles)).toEqual(['float32_9x11_nan.npy', 'uint16_7x5x3.npy', 'int8_ties_13.npy']);
  });

  for (const { name, input, params, expected } of cases) {
    it(name, () => {
      const ours = normalize(readNpy(input).data, params);
      const want = readNpy(expected).data as Float32Array;
      if (params.mode === 'percentile') {
        // Same float64 percentiles and the same two operations, so the same float32 bits.
        expect(ours).toEqual(want);
        return;
      }
      // z-scores are O(1); summation order may move the last float32 bit.
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i])) expect(ours[i]).toBeNaN();
        else expect(Math.abs(ours[i] - want[i])).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  for (const [file, { q, values }] of Object.entries(percentiles)) {
    it(`nanPercentiles of ${file} bit for bit`, () => {
      const data = readNpy(file).data;
      for (let i = 0; i < q.length; i++) expect(nanPercentiles(data, q[i], q[i])[0]).toBe(values[i]);
      expect(nanPercentiles(data, q[1], q[8])).toEqual([values[1], values[8]]);
    });
  }
});

describe('nanPercentiles', () => {
  /** numpy's linear percentile written the textbook way over a full sort. */
  function sortedReference(values: number[], percent: number): number {
    const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
    const position = ((sorted.length - 1) * percent) / 100;
    const below = Math.floor(position);
    const above = Math.min(below + 1, sorted.length - 1);
    return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
  }

  it('agrees with a full sort on many random arrays, with ties and overlapping ranks', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 300; trial++) {
      const length = 1 + Math.floor(random() * 40);
      const values = Array.from({ length }, () => (random() < 0.1 ? NaN : Math.floor(random() * 8)));
      if (values.every(Number.isNaN)) continue;
      const low = random() * 100;
      const high = low + random() * (100 - low);
      const [lower, upper] = nanPercentiles(values, low, high);
      expect(lower).toBeCloseTo(sortedReference(values, low), 12);
      expect(upper).toBeCloseTo(sortedReference(values, high), 12);
    }
  });

  it('is NaN without values', () => {
    expect(nanPercentiles([NaN, NaN], 1, 99)).toEqual([NaN, NaN]);
    expect(nanPercentiles([], 1, 99)).toEqual([NaN, NaN]);
  });

  it('does not modify its input', () => {
    const input = Float32Array.of(5, 1, 4, 2, 3);
    nanPercentiles(input, 10, 90);
    expect(Array.from(input)).toEqual([5, 1, 4, 2, 3]);
  });
});

describe('zscoreInto', () => {
  it('turns a constant image into zeros, keeping NaN', () => {
    // 0.1 summed 1001 times does not divide back to exactly 0.1
    const constant = new Float64Array(1001).fill(0.1);
    constant[3] = NaN;
    const out = normalize(constant, { mode: 'zscore' });
    expect(out[3]).toBeNaN();
    expect(Array.from(out).filter((v) => v !== 0)).toEqual([NaN]);
  });

  it('makes an all-NaN image all NaN and accepts an empty one', () => {
    expect(Array.from(normalize([NaN, NaN], { mode: 'zscore' }))).toEqual([NaN, NaN]);
    expect(normalize([], { mode: 'zscore' })).toHaveLength(0);
  });

  it('computes a hand example', () => {
    // mean 5, population std 2
    expect(Array.from(normalize([2, 4, 4, 4, 5, 5, 7, 9], { mode: 'zscore' }))).toEqual([-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2]);
  });
});

describe('percentileInto', () => {
  it('maps the range to [0, 1], clipping only when asked', () => {
    const data = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(Array.from(normalize(data, { mode: 'percentile', low: 10, high: 90, clip: true }))).toEqual([
      0, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1,
    ]);
    const unclipped = normalize(data, { mode: 'percentile', low: 10, high: 90, clip: false });
    expect([unclipped[0], unclipped[10]]).toEqual([-0.125, 1.125]);
  });

  it('turns an image whose percentiles coincide into zeros', () => {
    expect(Array.from(normalize([3, 3, 3, NaN], { mode: 'percentile', low: 1, high: 99, clip: true }))).toEqual([0, 0, 0, NaN]);
  });

  it('names the param and value for bad percentiles', () => {
    const dst = new Float32Array(2);
    expect(() => percentileInto([1, 2], dst, 60, 40, true)).toThrow('normalize: low (60) must be less than high (40)');
    expect(() => percentileInto([1, 2], dst, 5, 5, true)).toThrow('normalize: low (5) must be less than high (5)');
    expect(() => percentileInto([1, 2], dst, -1, 50, true)).toThrow('normalize: low (-1) must be a percentage between 0 and 100');
    expect(() => percentileInto([1, 2], dst, 0, 101, true)).toThrow('normalize: high (101) must be a percentage between 0 and 100');
    expect(() => percentileInto([1, 2], dst, NaN, 50, true)).toThrow('normalize: low (NaN)');
  });

  it('rejects a dst of the wrong length', () => {
    expect(() => zscoreInto([1, 2, 3], new Float32Array(2))).toThrow('normalize: dst length 2 does not equal src length 3');
  });
});
