import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NDArray, type ProcessContext } from '@emflow/sdk';
import { firstDifference, numpy, readWithNumpy, saveNpy } from '../../../test/helpers.js';
import { PngWriter } from '../src/index.js';
import { limitsFor, type Scaling } from '../src/scaling.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-png-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = (frame: number) => ({ node: 'save', frame, alloc: () => { throw new Error('a sink allocates nothing'); } }) as unknown as ProcessContext;
const defaults = { overwrite: false, scaling: 'percentile' as const, low: 0.5, high: 99.5, bitDepth: 8 as const };

/** The PNG as an independent decoder reads it (chunk CRCs, zlib, filter reversal) holds the pixels NumPy maps the image to. */
function expectNumpyPixels(png: string, image: NDArray, scaling: Scaling, low: number, high: number, bitDepth: 8 | 16) {
  saveNpy(`${png}.input.npy`, image);
  const [decoded, expected] = numpy(['read', png], ['png-pixels', `${png}.input.npy`, scaling, low, high, bitDepth]);
  expect([decoded.dtype, decoded.shape]).toEqual([expected.dtype, [...image.shape]]);
  expect(firstDifference(decoded.values, expected.values)).toBeUndefined();
}

describe('png-writer', () => {
  it('maps fixed limits linearly, halves rounded up, clipped outside', () => {
    const ramp = new NDArray(Float32Array.of(-5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, NaN), [2, 7], { frame: 4 });
    const path = join(scratch, 'ramp-{frame}.png');
    new PngWriter().process({ data: ramp }, { ...defaults, path, scaling: 'fixed', low: 0, high: 10 }, context(0));
    // round(v / 10 · 255) by hand: 25.5 → 26, 76.5 → 77, …
    expect(Array.from(readWithNumpy(join(scratch, 'ramp-4.png'))[0].values)).toEqual([0, 0, 26, 51, 77, 102, 128, 153, 179, 204, 230, 255, 255, 0]);
  });

  it('writes 16-bit PNGs with the per-frame percentile window by default, as NumPy computes them', () => {
    const image = new NDArray(Float64Array.from({ length: 200 }, (_, i) => Math.sin(i) * 100), [10, 20], { source: '/in/tilt.mrc', frame: 0 });
    new PngWriter().process({ data: image }, { ...defaults, path: join(scratch, '{name}.png'), bitDepth: 16 }, context(0));
    expectNumpyPixels(join(scratch, 'tilt.png'), image, 'percentile', 0.5, 99.5, 16);
  });

  // Non-finite values are left out of every window and shown black (NaN) or clipped (±Infinity).
  const cases = [
    { name: 'minmax-8', scaling: 'minmax', low: 0.5, high: 99.5, bitDepth: 8 },
    { name: 'percentile-10-75-8', scaling: 'percentile', low: 10, high: 75, bitDepth: 8 },
    { name: 'percentile-0-100-16', scaling: 'percentile', low: 0, high: 100, bitDepth: 16 },
    { name: 'fixed-16', scaling: 'fixed', low: -40.25, high: 60, bitDepth: 16 },
  ] as const;
  for (const { name, scaling, low, high, bitDepth } of cases) {
    it(`${name}: the window and pixels NumPy computes, for float32 and int16 images with non-finite values`, () => {
      const floats = new NDArray(Float32Array.from({ length: 23 * 17 }, (_, i) => Math.cos(i * 0.37) * 80 + i * 0.05), [23, 17], { frame: 1 });
      floats.data.set([NaN, Infinity, -Infinity, 1e6], 40);
      const ints = new NDArray(Int16Array.from({ length: 9 * 31 }, (_, i) => ((i * 7919) % 65536) - 32768), [9, 31], { frame: 2 });
      for (const image of [floats, ints]) {
        new PngWriter().process({ data: image }, { ...defaults, path: join(scratch, `${name}-{frame}.png`), scaling, low, high, bitDepth }, context(0));
        expectNumpyPixels(join(scratch, `${name}-${image.meta.frame}.png`), image, scaling, low, high, bitDepth);
      }
    });
  }

  it('uses the finite data range for minmax', () => {
    expect(limitsFor(Float32Array.of(3, NaN, -1, Infinity, 2), 'minmax', 0.5, 99.5)).toEqual({ low: -1, high: 3 });
  });

  it('names itself and the params in errors', () => {
    const image = NDArray.zeros('float32', [2, 2]);
    const write = (params: Partial<typeof defaults>) => () => new PngWriter().process({ data: image }, { ...defaults, path: join(scratch, 'bad.png'), ...params }, context(0));
    expect(write({ low: 60, high: 50 })).toThrow('png-writer: scaling "percentile" needs percentiles 0 ≤ low ≤ high ≤ 100, got low 60, high 50');
    expect(write({ scaling: 'fixed' as 'percentile', low: 3, high: -3 })).toThrow('png-writer: scaling "fixed" needs low ≤ high (the data values shown black and white), got low 3, high -3');
  });

  it('refuses to overwrite unless asked', () => {
    const image = NDArray.zeros('uint8', [2, 2]);
    const path = join(scratch, 'once.png');
    new PngWriter().process({ data: image }, { ...defaults, path }, context(0));
    expect(() => new PngWriter().process({ data: image }, { ...defaults, path }, context(0))).toThrow(/^png-writer: .*once\.png exists/);
    expect(() => new PngWriter().process({ data: image }, { ...defaults, path, overwrite: true }, context(0))).not.toThrow();
  });
});
