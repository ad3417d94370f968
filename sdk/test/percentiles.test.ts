// percentiles() against numpy.nanpercentile and numpy.percentile over the finite values, to the last bit.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { percentiles } from '../src/percentiles.js';

const numpy = (script: string, values: number[]): number[] =>
  JSON.parse(
    execFileSync(process.env.EMFLOW_PYTHON ?? 'python3', ['-c', `import json, sys, numpy as np\nx = np.array([float(v) for v in json.load(sys.stdin)])\nprint(json.dumps([float(v) if np.isfinite(v) else str(v) for v in ${script}]))`], {
      input: JSON.stringify(values.map(String)),
      encoding: 'utf8',
    }),
  ).map((v: number | string) => (typeof v === 'string' ? Number(v.replace('inf', 'Infinity')) : v));

describe('percentiles', () => {
  // clustered values (many in one bucket), a wide outlier, repeated values, NaN and both infinities
  const values = Array.from({ length: 20_011 }, (_, i) => (i % 7 === 0 ? 1e6 : Math.sin(i) * 3 + (i % 13) * 1e-9));
  values[5] = NaN;
  values[17] = Infinity;
  values[99] = -Infinity;
  values[100] = -Infinity;
  const qs = [0, 0.001, 1, 25, 50, 99, 99.99, 100];

  it('matches numpy.nanpercentile (infinities counted)', () => {
    expect(percentiles(values, qs)).toEqual(numpy(`np.nanpercentile(x, ${JSON.stringify(qs)})`, values));
  });

  it('matches numpy.percentile over the finite values', () => {
    expect(percentiles(values, qs, 'finite')).toEqual(numpy(`np.percentile(x[np.isfinite(x)], ${JSON.stringify(qs)})`, values));
  });

  it('is NaN with nothing to count, and the value itself for one value or a constant array', () => {
    expect(percentiles([NaN, Infinity], [50], 'finite')).toEqual([NaN]);
    expect(percentiles([], [1, 99])).toEqual([NaN, NaN]);
    expect(percentiles([4, 4, 4], [0, 50, 100])).toEqual([4, 4, 4]);
  });
});
