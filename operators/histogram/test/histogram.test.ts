import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, NDArray } from '@emflow/sdk';
import { histogram, type HistogramOptions } from '../src/histogram.js';
import { Histogram } from '../src/index.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as {
  input: string;
  params: HistogramOptions;
  edge_dtype: string;
  edges: number[];
  counts: number[];
}[];

describe('histogram vs numpy.histogram(x[~isnan(x)], bins, range)', () => {
  it('has the expected fixture set', () => {
    expect(cases).toHaveLength(24);
  });

  for (const { input, params, edge_dtype, edges, counts } of cases) {
    it(`${input} ${JSON.stringify(params)} (${edge_dtype} edges)`, () => {
      const ours = histogram(readNpy(input).data, params);
      // exactly: every edge bit and every count
      expect(Array.from(ours.edges)).toEqual(edges);
      expect(Array.from(ours.counts)).toEqual(counts);
    });
  }
});

describe('histogram', () => {
  it('closes only the last bin on the right and drops values outside the range', () => {
    const { edges, counts } = histogram(Float64Array.of(-1, 0, 0.5, 1, 1.5, 2, 3, NaN), { bins: 2, min: 0, max: 2 });
    expect(Array.from(edges)).toEqual([0, 1, 2]);
    expect(Array.from(counts)).toEqual([2, 3]);
  });

  it('names the value and the expected range for bad bins', () => {
    expect(() => histogram([1], { bins: 0 })).toThrow('histogram: bins (0) must be an integer from 1 to 65536');
    expect(() => histogram([1], { bins: 65537 })).toThrow('histogram: bins (65537) must be an integer from 1 to 65536');
    expect(() => histogram([1], { bins: 2.5 })).toThrow('histogram: bins (2.5) must be an integer');
  });

  it('rejects inverted and infinite ranges, saying which edge came from the data', () => {
    expect(() => histogram([1, 2], { bins: 4, min: 3, max: 1 })).toThrow('histogram: min (3) must not exceed max (1)');
    expect(() => histogram([1, 2], { bins: 4, min: 3 })).toThrow('histogram: min (3) must not exceed max (2, the data maximum)');
    expect(() => histogram([1, Infinity], { bins: 4 })).toThrow(
      'histogram: min (1, the data minimum) and max (Infinity, the data maximum) must both be finite',
    );
    expect(() => histogram([1, 2], { bins: 4, min: -Infinity, max: 1 })).toThrow(/must both be finite/);
  });

  it('needs the data for an unset edge', () => {
    expect(() => histogram([NaN], { bins: 4, min: 0 })).toThrow('histogram: max is not set and the image has no non-NaN values to take it from');
    expect(() => histogram([], { bins: 4, max: 0 })).toThrow('histogram: min is not set');
  });

  it('refuses a constant range too large to widen by ±0.5', () => {
    expect(() => histogram([2 ** 60], { bins: 4 })).toThrow(/too large to widen into a range/);
  });
});

describe('Histogram operator', () => {
  it('returns a table of bin_start, bin_end and count', () => {
    const image = new NDArray(Float32Array.of(0, 1, 2, 3, NaN, 3), [2, 3]);
    const { histogram: frame } = new Histogram().process({ image }, { bins: 3 });
    expect(frame.table.schema.fields.map((f) => f.name)).toEqual(['bin_start', 'bin_end', 'count']);
    expect(frame.table.toArray().map((row) => row.toJSON())).toEqual([
      { bin_start: 0, bin_end: 1, count: 1 },
      { bin_start: 1, bin_end: 2, count: 1 },
      { bin_start: 2, bin_end: 3, count: 3 },
    ]);
  });
});
