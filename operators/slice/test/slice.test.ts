import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, type TypedArray } from '@emflow/sdk';
import { axisLayout, withoutAxis, type VolumeAxis } from '@emflow/sdk';
import { checkIndex, sliceInto } from '../src/slice.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as {
  name: string;
  input: string;
  params: { axis: VolumeAxis; index: number };
  expected: string;
}[];

function slice(src: TypedArray, shape: readonly number[], axis: VolumeAxis, index: number) {
  const layout = axisLayout('slice', 'volume', shape, axis);
  const data = new (src.constructor as new (n: number) => TypedArray)(layout.remaining.reduce((a, b) => a * b, 1));
  sliceInto(src, layout, index, data);
  return { shape: layout.remaining, data };
}

describe('slice vs numpy take', () => {
  it('has the expected fixture set', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const { name, input, params, expected } of cases) {
    it(name, () => {
      const volume = readNpy(input);
      const reference = readNpy(expected);
      const ours = slice(volume.data, volume.shape, params.axis, params.index);
      expect(ours.shape).toEqual(reference.shape);
      // exact, dtype included
      expect(ours.data).toEqual(reference.data);
    });
  }
});

describe('slice', () => {
  const layout = axisLayout('slice', 'volume', [3, 4, 5], 'y');

  it('gives the valid range when the index is out of range', () => {
    expect(() => checkIndex(layout, 4)).toThrow('slice: index (4) is out of range for axis y of size 4: expected an integer from 0 to 3');
    expect(() => checkIndex(layout, -1)).toThrow('slice: index (-1) is out of range for axis y of size 4');
    expect(() => checkIndex(layout, 1.5)).toThrow('slice: index (1.5) is out of range');
  });

  it('explains that an empty axis has no valid index, and slices across empty axes', () => {
    expect(() => checkIndex(axisLayout('slice', 'volume', [0, 4, 5], 'z'), 0)).toThrow(
      'slice: the volume has no planes along axis z (shape [0, 4, 5]), so no index (0) is valid',
    );
    expect(slice(new Float32Array(0), [2, 0, 5], 'z', 1).shape).toEqual([0, 5]);
  });

  it('copies float16 bits unchanged', () => {
    const halfBits = Uint16Array.of(0x3c00, 0x7e00, 0xc000, 0x0001);
    expect(Array.from(slice(halfBits, [2, 1, 2], 'x', 1).data)).toEqual([0x7e00, 0x0001]);
  });

  it('rejects non-3-D input and a dst of the wrong size', () => {
    expect(() => axisLayout('slice', 'volume', [4, 5], 'z')).toThrow('slice: port "volume" must be a 3-D volume [z, y, x], got a 2-D array of shape [4, 5]');
    expect(() => sliceInto(new Float32Array(60), layout, 0, new Float32Array(14))).toThrow('slice: dst length 14 does not match [3, 5]');
  });

  it('drops the sliced axis from the pixel size', () => {
    expect(withoutAxis({ pixelSize: [4, 2, 1] }, layout.axis)).toEqual({ pixelSize: [4, 1] });
  });
});
