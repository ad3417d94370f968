import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '@emflow/sdk';
import { cropBox, cropInto, type CropRequest } from '../src/crop.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as { name: string; input: string; params: CropRequest; expected: string }[];

describe('crop vs numpy slicing', () => {
  it('has the expected fixture set', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'image_interior',
      'image_bottom_right_corner',
      'image_whole',
      'image_single_pixel',
      'volume_default_depth',
      'volume_z_to_end',
      'volume_box',
    ]);
  });

  for (const { name, input, params, expected } of cases) {
    it(name, () => {
      const source = readNpy(input);
      const reference = readNpy(expected);
      const box = cropBox(source.shape, params);
      expect(box.shape).toEqual(reference.shape);
      const dst = new (source.data.constructor as new (n: number) => typeof source.data)(reference.size);
      cropInto(source.data, source.shape, box, dst);
      // toEqual treats NaN as equal to NaN, and the typed-array class (the dtype) must match too
      expect(dst).toEqual(reference.data);
    });
  }
});

describe('cropBox', () => {
  const image = [512, 512];

  it('names the params, the sum and the image size when a box leaves the image', () => {
    expect(() => cropBox(image, { x: 300, y: 0, width: 400, height: 10 })).toThrow('crop: x + width (700) exceeds the image width 512');
    expect(() => cropBox([100, 200], { x: 0, y: 95, width: 10, height: 6 })).toThrow('crop: y + height (101) exceeds the image height 100');
    expect(() => cropBox([4, 5, 7], { x: 0, y: 0, width: 1, height: 1, z: 3, depth: 2 })).toThrow('crop: z + depth (5) exceeds the image depth 4');
    expect(() => cropBox([4, 5, 7], { x: 0, y: 0, width: 1, height: 1, z: 4 })).toThrow('crop: z (4) must be less than the image depth 4');
  });

  it('rejects negative, fractional and zero extents', () => {
    expect(() => cropBox(image, { x: -1, y: 0, width: 1, height: 1 })).toThrow('crop: x (-1) must be an integer ≥ 0');
    expect(() => cropBox(image, { x: 0, y: 1.5, width: 1, height: 1 })).toThrow('crop: y (1.5) must be an integer ≥ 0');
    expect(() => cropBox(image, { x: 0, y: 0, width: 0, height: 1 })).toThrow('crop: width (0) must be an integer ≥ 1');
  });

  it('rejects any crop of an empty image, naming its size', () => {
    expect(() => cropBox([0, 8], { x: 0, y: 0, width: 1, height: 1 })).toThrow('crop: y + height (1) exceeds the image height 0');
  });

  it('rejects ranks other than 2 and 3, and volume params on an image', () => {
    expect(() => cropBox([10], { x: 0, y: 0, width: 1, height: 1 })).toThrow('crop: port "image" must be a 2-D image or 3-D volume, got a 1-D array of shape [10]');
    expect(() => cropBox([2, 3, 4, 5], { x: 0, y: 0, width: 1, height: 1 })).toThrow(/4-D array/);
    expect(() => cropBox(image, { x: 0, y: 0, width: 1, height: 1, z: 2 })).toThrow(/"z" \(2\) and "depth" \(undefined\) apply to volumes only/);
    expect(() => cropBox(image, { x: 0, y: 0, width: 1, height: 1, depth: 1 })).toThrow(/apply to volumes only/);
  });
});

describe('cropInto', () => {
  it('copies float16 bits unchanged', () => {
    const halfBits = Uint16Array.of(0x3c00, 0x7e00, 0xc000, 0x0001);
    const dst = new Uint16Array(2);
    cropInto(halfBits, [2, 2], cropBox([2, 2], { x: 0, y: 1, width: 2, height: 1 }), dst);
    expect(Array.from(dst)).toEqual([0xc000, 0x0001]);
  });

  it('rejects a dst of the wrong length', () => {
    const box = cropBox([3, 3], { x: 0, y: 0, width: 2, height: 2 });
    expect(() => cropInto(new Float32Array(9), [3, 3], box, new Float32Array(3))).toThrow('crop: dst length 3 does not match the box 1×2×2');
  });
});
