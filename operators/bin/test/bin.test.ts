import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '@emflow/sdk';
import { binInto, binnedMeta, binPlan, type BinAxes, type BinMode } from '../src/bin.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
interface Case {
  name: string;
  input: string;
  params: { factor: number; mode: BinMode; axes: BinAxes };
  expected: string;
}
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as Case[];

function bin(src: ArrayLike<number>, shape: readonly number[], factor: number, mode: BinMode, axes: BinAxes = 'xy') {
  const plan = binPlan(shape, factor, axes);
  const dst = new Float32Array(plan.shape.reduce((a, b) => a * b, 1));
  binInto(src, shape, plan, mode, dst);
  return { shape: plan.shape, data: dst };
}

describe('bin vs numpy reshape binning (float64 reduction, rounded to float32)', () => {
  it('has the expected fixture set', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'float32_factor3_mean_drops_trailing',
      'float32_factor1_identity',
      'float32_factor10_single_row',
      'uint16_factor2_sum',
      'int16_volume_xy_mean',
      'int16_volume_xyz_mean',
      'int16_volume_xyz_sum_factor3',
      'nan_propagates_to_its_block',
    ]);
  });

  for (const { name, input, params, expected } of cases) {
    it(name, () => {
      const source = readNpy(input);
      const reference = readNpy(expected);
      const ours = bin(source.data, source.shape, params.factor, params.mode, params.axes);
      expect(ours.shape).toEqual(reference.shape);
      // Summation order differs from numpy's pairwise sum only in the last float64 bits, which
      // survive rounding to float32 at most as one float32 ulp.
      const want = reference.data as Float32Array;
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i])) expect(ours.data[i]).toBeNaN();
        else expect(Math.abs(ours.data[i] - want[i])).toBeLessThanOrEqual(2 ** -23 * Math.abs(want[i]));
      }
    });
  }
});

describe('binInto', () => {
  it('averages 2×2 blocks of a hand example and drops the odd last column', () => {
    // 2 rows × 5 cols: blocks [1,2,6,7] and [3,4,8,9]; column 5 (5, 10) is dropped.
    const ours = bin([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5], 2, 'mean');
    expect(ours.shape).toEqual([1, 2]);
    expect(Array.from(ours.data)).toEqual([4, 6]);
    expect(Array.from(bin([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5], 2, 'sum').data)).toEqual([16, 24]);
  });

  it('bins each section of a volume separately with axes xy', () => {
    const volume = Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => Math.floor(i / 4) * 10);
    const ours = bin(volume, [3, 2, 2], 2, 'mean');
    expect(ours.shape).toEqual([3, 1, 1]);
    expect(Array.from(ours.data)).toEqual([0, 10, 20]);
  });
});

describe('binPlan', () => {
  it('rejects a factor larger than an axis, including an empty image', () => {
    expect(() => binPlan([5, 100], 8, 'xy')).toThrow('bin: factor (8) exceeds the image height 5: not one whole block fits');
    expect(() => binPlan([100, 0], 1, 'xy')).toThrow('bin: factor (1) exceeds the image width 0');
    expect(() => binPlan([1, 64, 64], 2, 'xyz')).toThrow('bin: factor (2) exceeds the image depth 1');
  });

  it('leaves the depth of a volume alone with axes xy, however small', () => {
    expect(binPlan([1, 64, 64], 2, 'xy').shape).toEqual([1, 32, 32]);
  });

  it('rejects bad factors, ranks and axes for the rank', () => {
    expect(() => binPlan([8, 8], 0, 'xy')).toThrow('bin: factor (0) must be an integer ≥ 1');
    expect(() => binPlan([8, 8], 1.5, 'xy')).toThrow('bin: factor (1.5) must be an integer ≥ 1');
    expect(() => binPlan([8], 2, 'xy')).toThrow('bin: port "image" must be a 2-D image or 3-D volume, got a 1-D array of shape [8]');
    expect(() => binPlan([8, 8], 2, 'xyz')).toThrow('bin: axes "xyz" needs a 3-D volume, got a 2-D image of shape [8, 8]');
  });
});

describe('binnedMeta', () => {
  it('multiplies the pixel size of binned axes only', () => {
    expect(binnedMeta({ pixelSize: [2, 1.5], units: 'Å' }, binPlan([8, 8], 4, 'xy'))).toEqual({ pixelSize: [8, 6] });
    expect(binnedMeta({ pixelSize: [3, 1, 1] }, binPlan([4, 8, 8], 2, 'xy'))).toEqual({ pixelSize: [3, 2, 2] });
    expect(binnedMeta({ pixelSize: [3, 1, 1] }, binPlan([4, 8, 8], 2, 'xyz'))).toEqual({ pixelSize: [6, 2, 2] });
  });

  it('adds no pixel size when the input has none', () => {
    expect(binnedMeta({ units: 'nm' }, binPlan([8, 8], 2, 'xy'))).toEqual({});
  });
});
