// Contrast for image panes: percentiles of the received pixels, and the colormaps they are drawn with.
import { describe, expect, it } from 'vitest';
import { colormapLut, paint } from '../src/model/colormap';
import { finiteRange, percentiles } from '../src/model/percentile';

const percentile = (values: ArrayLike<number>, p: number) => percentiles(values, [p])[0];

describe('percentile', () => {
  it('interpolates linearly between closest ranks, like numpy.percentile', () => {
    // sorted: 1 2 3 4 10; p25 at rank 0.25 × 4 = 1 → 2; p90 at rank 3.6 → 4 + 0.6 × (10 − 4) = 7.6
    const values = Float32Array.from([10, 3, 1, 4, 2]);
    expect(percentile(values, 25)).toBe(2);
    expect(percentile(values, 90)).toBeCloseTo(7.6, 12);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile(values, 50)).toBe(3);
  });

  it('leaves out NaN and ±Infinity, and has no answer without finite values', () => {
    // finite: 0 5 → p50 = 2.5
    expect(percentiles([NaN, 5, Infinity, 0, -Infinity], [50, 100])).toEqual([2.5, 5]);
    expect(percentile([NaN, Infinity], 50)).toBeNaN();
    expect(finiteRange([NaN, 3, -Infinity, -2, 7])).toEqual([-2, 7]);
    expect(finiteRange([NaN])).toEqual([NaN, NaN]);
  });
});

describe('colormaps', () => {
  it('are 256-entry RGBA tables from the first colour to the last', () => {
    const gray = colormapLut('gray');
    expect(gray.length).toBe(1024);
    expect(Array.from(gray.slice(0, 4))).toEqual([0, 0, 0, 255]);
    expect(Array.from(gray.slice(1020))).toEqual([255, 255, 255, 255]);
    // viridis runs from dark purple (#440154) to yellow (#fde725)
    const viridis = colormapLut('viridis');
    expect(Array.from(viridis.slice(0, 3))).toEqual([0x44, 0x01, 0x54]);
    expect(Array.from(viridis.slice(1020, 1023))).toEqual([0xfd, 0xe7, 0x25]);
    expect(colormapLut('magma')).not.toEqual(colormapLut('inferno'));
  });

  it('paint the window lo…hi onto the table; NaN transparent, beyond the window saturated', () => {
    const out = new Uint8ClampedArray(5 * 4);
    paint([0, 5, 10, NaN, 20], 0, 10, colormapLut('gray'), out);
    expect(Array.from(out)).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  });
});
