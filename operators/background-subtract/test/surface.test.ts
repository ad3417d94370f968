import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, NDArray, type ProcessContext } from '@emflow/sdk';
import { fitSurface, legendreTable, polynomialTerms, subtractSurface } from '../src/surface.js';
import { BackgroundSubtract } from '../src/index.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const manifest = JSON.parse(readFileSync(`${fixtureDir}manifest.json`, 'utf8')) as { input: string; order: number; sample: number; background: string }[];

/** Fit and subtract in float64, returning [corrected, background]. */
function run(src: ArrayLike<number>, width: number, height: number, order: number, sample: number): [Float64Array, Float64Array] {
  const corrected = new Float64Array(width * height);
  const background = new Float64Array(width * height);
  subtractSurface(src, width, height, fitSurface(src, width, height, { order, sample }), corrected, background);
  return [corrected, background];
}

const plainContext = { node: 'test', frame: 0, alloc: (_port, dtype, shape, meta) => NDArray.zeros(dtype, shape, meta) } as ProcessContext;

describe('fitSurface vs numpy.linalg.lstsq on the monomial design matrix', () => {
  it('has the expected fixture set', () => {
    expect(manifest.map((c) => [c.order, c.sample])).toEqual([
      [0, 4],
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
      [2, 1],
      [3, 3],
    ]);
  });

  for (const { input, order, sample, background } of manifest) {
    it(`${input}, order ${order}, sample ${sample}`, () => {
      const image = readNpy(input);
      const expected = readNpy(background).data as Float64Array;
      const [height, width] = image.shape;
      const [corrected, ours] = run(image.data, width, height, order, sample);
      // Relative to the surface's magnitude (≈1000 here), so the check does not hinge on where it crosses zero.
      const scale = expected.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(ours[i] - expected[i]));
      expect(worst).toBeLessThanOrEqual(1e-6 * scale);
      // NaN pixels (also the unsampled one at row 5, column 7) stay NaN; every other pixel is image − surface.
      for (const index of [0, 5 * width + 7, 16 * width + 40]) expect(corrected[index]).toBeNaN();
      expect(corrected[3 * width + 9]).toBeCloseTo(image.data[3 * width + 9] - ours[3 * width + 9], 9);
    });
  }
});

describe('background subtraction', () => {
  const width = 40;
  const height = 25;
  function surfaceImage(f: (u: number, v: number) => number): Float64Array {
    const image = new Float64Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image[y * width + x] = f(x, y);
    return image;
  }

  it('removes a plane with order 1 and a quadratic with order 2 down to rounding', () => {
    const plane = surfaceImage((x, y) => 500 + 3 * x - 7.5 * y);
    const quadratic = surfaceImage((x, y) => -20 + 0.3 * x * x - 0.1 * x * y + 0.02 * y * y + x);
    for (const [image, order] of [
      [plane, 1],
      [quadratic, 2],
      [quadratic, 4],
    ] as const) {
      const [corrected, background] = run(image, width, height, order, 4);
      for (let i = 0; i < image.length; i++) {
        expect(Math.abs(corrected[i])).toBeLessThan(1e-9);
        expect(background[i]).toBeCloseTo(image[i], 9);
      }
    }
  });

  it('with order 0 subtracts the mean of the sampled finite pixels', () => {
    const image = Float64Array.of(1, 2, 3, NaN, 5, 6);
    const [corrected, background] = run(image, 3, 2, 0, 1);
    for (const value of background) expect(value).toBeCloseTo(17 / 5, 12);
    expect(corrected[3]).toBeNaN();
    expect(corrected[0]).toBeCloseTo(1 - 17 / 5, 12);
  });

  it('fits a single-pixel image with order 0', () => {
    expect(run(Float32Array.of(4), 1, 1, 0, 4)).toEqual([Float64Array.of(0), Float64Array.of(4)]);
  });

  it('refuses surfaces the samples cannot determine, naming the params', () => {
    const nan = new Float64Array(16).fill(NaN);
    expect(() => fitSurface(nan, 4, 4, { order: 0, sample: 1 })).toThrow(
      'background-subtract: 0 finite sampled pixel(s) of the 4×4 image (param "sample" = 1) cannot determine a surface of param "order" = 0 (1 terms); ' +
        'expected more finite pixels, a smaller sample step or a lower order',
    );
    // 3 sampled rows cannot pin down a cubic in y.
    expect(() => fitSurface(new Float64Array(12 * 3), 12, 3, { order: 3, sample: 1 })).toThrow(/"order" = 3 \(10 terms\)/);
    // sample 4 on a 4×4 image leaves one pixel: enough for a constant only.
    expect(() => fitSurface(new Float64Array(16), 4, 4, { order: 1, sample: 4 })).toThrow(/1 finite sampled pixel/);
  });

  it('rejects bad params and empty images', () => {
    const image = new Float64Array(9);
    expect(() => fitSurface(image, 3, 3, { order: 5, sample: 1 })).toThrow('background-subtract: param "order" = 5; expected an integer from 0 to 4');
    expect(() => fitSurface(image, 3, 3, { order: 1.5, sample: 1 })).toThrow(/"order" = 1.5/);
    expect(() => fitSurface(image, 3, 3, { order: 1, sample: 0 })).toThrow('background-subtract: param "sample" = 0; expected an integer ≥ 1');
    expect(() => fitSurface(new Float64Array(0), 0, 0, { order: 1, sample: 1 })).toThrow('background-subtract: input "image" is 0×0 pixels; expected a non-empty image');
  });
});

describe('polynomialTerms and legendreTable', () => {
  it('lists the terms of total degree ≤ order', () => {
    expect(polynomialTerms(2)).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [2, 0],
      [1, 1],
      [0, 2],
    ]);
    expect(polynomialTerms(4)).toHaveLength(15);
  });

  it('evaluates Legendre polynomials on [−1, 1]', () => {
    const table = legendreTable(3, 4);
    // t = −1, 0, 1; P_k(1) = 1, P_k(−1) = (−1)^k, P_2(0) = −1/2, P_4(0) = 3/8.
    // (+ 0 turns the −0 of P_3(0) into 0 for toEqual.)
    expect(Array.from(table, (value) => value + 0)).toEqual([1, 1, 1, -1, 0, 1, 1, -0.5, 1, -1, 0, 1, 1, 0.375, 1]);
  });
});

describe('BackgroundSubtract operator', () => {
  const operator = new BackgroundSubtract();

  it('returns the corrected image and the background as float32', () => {
    const values = Float32Array.from({ length: 30 * 20 }, (_, i) => 100 + (i % 30) - Math.floor(i / 30) * 2);
    const image = new NDArray(values, [20, 30], { pixelSize: [1, 1], units: 'Å' });
    const out = operator.process({ image }, { order: 1, sample: 2 }, plainContext);
    expect(out.image.dtype).toBe('float32');
    expect(out.background.shape).toEqual([20, 30]);
    for (let i = 0; i < values.length; i++) {
      expect(Math.abs(out.image.data[i])).toBeLessThan(1e-4);
      expect(out.background.data[i]).toBeCloseTo(values[i], 4);
    }
  });

  it('rejects a wrong-rank input', () => {
    const stack = new NDArray(new Float32Array(8), [2, 2, 2]);
    expect(() => operator.process({ image: stack }, { order: 2, sample: 4 }, plainContext)).toThrow(
      'background-subtract: input "image": expected image2d (a 2-D array), got a 3-D array',
    );
  });
});
