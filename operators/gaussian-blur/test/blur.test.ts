import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gaussianFilter2d } from '../src/blur.js';
import { decodeNpy } from '@emflow/sdk';

const readNpy = (path: string) => decodeNpy(readFileSync(path), path);

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Manifest {
  sigmas: number[];
  cases: { name: string; input: string; outputs: { sigma: number; file: string }[] }[];
}
const manifest = JSON.parse(readFileSync(`${fixtureDir}manifest.json`, 'utf8')) as Manifest;

/** Largest violation of |ours − scipy| ≤ 1e-4·max(1, |scipy|), as a multiple of the allowance. */
function worstRelativeError(ours: Float32Array, scipy: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < scipy.length; i++) {
    worst = Math.max(worst, Math.abs(ours[i] - scipy[i]) / (1e-4 * Math.max(1, Math.abs(scipy[i]))));
  }
  return worst;
}

describe('gaussianFilter2d vs scipy.ndimage.gaussian_filter(mode="reflect", truncate=4)', () => {
  it('has the expected fixture set', () => {
    expect(manifest.sigmas).toEqual([0.5, 1, 2, 3.7]);
    expect(manifest.cases.map((c) => c.name)).toEqual([
      'random_48x64',
      'tiny_3x5',
      'row_1x7',
      'column_7x1',
      'impulse_17x23',
    ]);
  });

  for (const fixture of manifest.cases) {
    for (const { sigma, file } of fixture.outputs) {
      it(`${fixture.name}, sigma ${sigma}`, () => {
        const input = readNpy(fixtureDir + fixture.input);
        const expected = readNpy(fixtureDir + file);
        const [height, width] = input.shape;
        expect(expected.shape).toEqual(input.shape);

        const ours = gaussianFilter2d(input.data, width, height, sigma);
        expect(ours.length).toBe(expected.size);
        expect(worstRelativeError(ours, expected.data as Float32Array)).toBeLessThanOrEqual(1);
      });
    }
  }
});

describe('gaussianFilter2d', () => {
  const width = 9;
  const height = 6;
  const image = Float32Array.from({ length: width * height }, (_, i) => Math.sin(i * 0.7) * 10);

  it('returns a copy for sigma 0', () => {
    const out = gaussianFilter2d(image, width, height, 0);
    expect(out).not.toBe(image);
    expect(out).toEqual(image);
  });

  it('writes into and returns the given dst', () => {
    const dst = new Float32Array(width * height);
    expect(gaussianFilter2d(image, width, height, 1.3, dst)).toBe(dst);
    expect(dst).toEqual(gaussianFilter2d(image, width, height, 1.3));
  });

  it('filters in place when dst is src', () => {
    const inPlace = image.slice();
    gaussianFilter2d(inPlace, width, height, 2.5, inPlace);
    expect(inPlace).toEqual(gaussianFilter2d(image, width, height, 2.5));
  });

  it('filters correctly when dst is another view on the source buffer', () => {
    const buffer = new Float32Array(2 * width * height);
    buffer.set(image, width * height);
    const src = buffer.subarray(width * height);
    const dst = buffer.subarray(width * height - width, 2 * width * height - width);
    gaussianFilter2d(src, width, height, 2.5, dst);
    expect(dst).toEqual(gaussianFilter2d(image, width, height, 2.5));
  });

  it('accepts integer typed arrays and plain arrays', () => {
    const ints = Int16Array.from({ length: width * height }, (_, i) => (i * 37) % 101 - 50);
    const reference = gaussianFilter2d(Float32Array.from(ints), width, height, 1);
    expect(gaussianFilter2d(ints, width, height, 1)).toEqual(reference);
    expect(gaussianFilter2d(Array.from(ints), width, height, 1)).toEqual(reference);
  });

  it('preserves a constant image and the total of an impulse', () => {
    const constant = new Float32Array(width * height).fill(3.25);
    for (const value of gaussianFilter2d(constant, width, height, 1.7)) expect(value).toBeCloseTo(3.25, 6);

    const impulse = new Float32Array(width * height);
    impulse[2 * width + 7] = 1;
    const total = gaussianFilter2d(impulse, width, height, 1.7).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 6);
  });

  it('rejects negative, NaN and infinite sigma, naming the value', () => {
    expect(() => gaussianFilter2d(image, width, height, -1)).toThrow(RangeError);
    expect(() => gaussianFilter2d(image, width, height, -1)).toThrow(/-1/);
    expect(() => gaussianFilter2d(image, width, height, Number.NaN)).toThrow(/NaN/);
    expect(() => gaussianFilter2d(image, width, height, Infinity)).toThrow(/Infinity/);
  });

  it('rejects mismatched sizes', () => {
    expect(() => gaussianFilter2d(image, width + 1, height, 1)).toThrow(RangeError);
    expect(() => gaussianFilter2d(image, width, height, 1, new Float32Array(3))).toThrow(/dst length 3/);
    expect(() => gaussianFilter2d(new Float32Array(0), 0, 0, 1)).toThrow(RangeError);
  });
});
