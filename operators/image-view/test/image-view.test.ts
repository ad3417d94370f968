// image-view's display window and float32 view against NumPy on the real images in data/ (read by NumPy and
// the independent MRC/TIFF readers, not by emflow), and its params checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allocateTyped, localContext, NDArray, type DType, type TypedArray } from '@emflow/sdk';
import { firstDifference, pythonJson, saveNpy } from '../../../test/helpers.js';
import { checkContrastParams, displayRange, finiteExtent, finitePercentiles } from '../src/display-range.js';
import { ImageView, type ImageViewParams } from '../src/index.js';

const dataDir = fileURLToPath(new URL('../../../data/', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/display_reference.py', import.meta.url));
const PAIRS: [number, number][] = [
  [1, 99],
  [0, 100],
  [0.1, 99.9],
  [2.5, 97.5],
  [10, 75],
  [33.3, 66.7],
  [50, 50.5],
];

interface Reference {
  dtype: DType;
  shape: number[];
  values: string;
  view: string;
  finite: number;
  min: number;
  max: number;
  percentiles: { low: number; high: number; min: number; max: number }[];
}

const fromBase64 = <T>(text: string, Type: new (buffer: ArrayBuffer) => T): T => {
  const bytes = Buffer.from(text, 'base64');
  return new Type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** The image NumPy read, as an NDArray of the file's own dtype. */
function imageOf(reference: Reference): NDArray {
  const data = allocateTyped(reference.dtype, reference.shape.reduce((a, b) => a * b, 1)) as TypedArray;
  data.set(fromBase64(reference.values, Float64Array));
  return new NDArray(data, reference.shape, { source: 'numpy' }, reference.dtype);
}

// A real float32 section with NaN and ±Infinity written into it, saved for NumPy to read back.
const scratch = mkdtempSync(join(tmpdir(), 'image-view-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const images: { name: string; file: string; section: string }[] = [
  { name: 'tomviz-sample.tiff (uint8 401×401)', file: `${dataDir}tomviz-sample.tiff`, section: '0' },
  { name: 'EMD-3001.map section 12 (float32 25×43)', file: `${dataDir}EMD-3001.map`, section: '12' },
  { name: 'EMD-3197.map section 10 (float32 20×20)', file: `${dataDir}EMD-3197.map`, section: '10' },
  { name: 'micrographs/mic-000.mrc (int16 256×256)', file: `${dataDir}micrographs/mic-000.mrc`, section: '0' },
];
const pairs = PAIRS.map(([low, high]) => `${low}:${high}`);
const references = pythonJson<Reference[]>(script, ...images.flatMap(({ file, section }, i) => [...(i ? ['+'] : []), file, section, ...pairs]));

const withNonFinite = imageOf({ ...references[1], dtype: 'float32' });
withNonFinite.data[0] = NaN;
withNonFinite.data[5] = Infinity;
withNonFinite.data[17] = -Infinity;
withNonFinite.data[withNonFinite.size - 1] = NaN;
saveNpy(join(scratch, 'nonfinite.npy'), withNonFinite);
images.push({ name: 'EMD-3001.map section 12 with NaN and ±Infinity (float32)', file: join(scratch, 'nonfinite.npy'), section: '-' });
references.push(...pythonJson<Reference[]>(script, join(scratch, 'nonfinite.npy'), '-', ...pairs));

const defaults: ImageViewParams = { colormap: 'gray', contrast: 'percentile', low: 1, high: 99 };
const view = (image: NDArray, params: Partial<ImageViewParams> = {}) => new ImageView().process({ image }, { ...defaults, ...params }, localContext('view')).view;

describe('image-view against NumPy on the images in data/', () => {
  it('read the images as NumPy does', () => {
    expect(references.map((r) => [r.dtype, ...r.shape])).toEqual([
      ['uint8', 401, 401],
      ['float32', 25, 43],
      ['float32', 20, 20],
      ['int16', 256, 256],
      ['float32', 25, 43],
    ]);
    expect(references[4].finite).toBe(25 * 43 - 4);
  });

  images.forEach(({ name }, i) => {
    const reference = references[i];
    const image = imageOf(reference);

    it(`${name}: percentile windows are numpy.percentile of the finite pixels, to the last bit`, () => {
      for (const { low, high, min, max } of reference.percentiles) {
        expect(finitePercentiles(image.values(), low, high), `${low}–${high} %`).toEqual([min, max]);
        const frame = view(image, { low, high, colormap: 'viridis' });
        expect(frame.meta, `${low}–${high} %`).toMatchObject({ displayMin: min, displayMax: max, colormap: 'viridis', contrast: 'percentile' });
      }
    });

    it(`${name}: minmax is the finite minimum and maximum, manual the params`, () => {
      expect(view(image, { contrast: 'minmax', colormap: 'magma' }).meta).toMatchObject({ displayMin: reference.min, displayMax: reference.max, colormap: 'magma' });
      expect(view(image, { contrast: 'manual', min: -3.5, max: 250, colormap: 'inferno' }).meta).toMatchObject({
        displayMin: -3.5,
        displayMax: 250,
        colormap: 'inferno',
        contrast: 'manual',
      });
    });

    it(`${name}: the view is numpy's astype(float32), same shape, NaN and ±Infinity kept`, () => {
      const frame = view(image);
      expect(frame.dtype).toBe('float32');
      expect(frame.shape).toEqual(reference.shape);
      expect(firstDifference(frame.data, fromBase64(reference.view, Float32Array))).toBeUndefined();
    });
  });
});

describe('image-view params', () => {
  const image = new NDArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);

  it('manual contrast needs min and max, min < max', () => {
    expect(() => view(image, { contrast: 'manual' })).toThrow("image-view: contrast 'manual' needs the params min and max; min and max are not set");
    expect(() => view(image, { contrast: 'manual', min: 1 })).toThrow("image-view: contrast 'manual' needs the params min and max; max is not set");
    expect(() => view(image, { contrast: 'manual', min: 3, max: 3 })).toThrow("image-view: contrast 'manual' needs min < max (min 3, max 3)");
    expect(() => view(image, { contrast: 'manual', min: 4, max: 2 })).toThrow('needs min < max (min 4, max 2)');
  });

  it('percentile contrast needs low < high, within 0–100 %', () => {
    expect(() => view(image, { low: 99, high: 1 })).toThrow("image-view: contrast 'percentile' needs low < high (low 99 %, high 1 %)");
    expect(() => view(image, { low: 50, high: 50 })).toThrow('needs low < high (low 50 %, high 50 %)');
    expect(() => checkContrastParams({ contrast: 'percentile', low: -1, high: 50 })).toThrow("needs low between 0 and 100 % (low -1)");
  });

  it('checks only the params of the chosen contrast', () => {
    expect(view(image, { contrast: 'minmax', low: 99, high: 1, min: 5, max: 1 }).meta).toMatchObject({ displayMin: 1, displayMax: 6 });
    expect(view(image, { contrast: 'manual', low: 99, high: 1, min: 0, max: 10 }).meta).toMatchObject({ displayMin: 0, displayMax: 10 });
  });

  it('an image without a finite pixel has no window (null), and its view keeps the values', () => {
    const empty = new NDArray(Float64Array.of(NaN, Infinity, -Infinity, NaN), [2, 2]);
    expect(view(empty).meta).toMatchObject({ displayMin: null, displayMax: null });
    expect(view(empty, { contrast: 'minmax' }).meta).toMatchObject({ displayMin: null, displayMax: null });
    expect(Array.from(view(empty).data)).toEqual([NaN, Infinity, -Infinity, NaN]);
    expect(finiteExtent([])).toEqual({ min: null, max: null });
  });

  it('float16 pixels are read as their values', () => {
    // 1, 2, -2, 65504 as IEEE half bits
    const half = new NDArray(Uint16Array.of(0x3c00, 0x4000, 0xc000, 0x7bff), [2, 2], {}, 'float16');
    expect(Array.from(view(half).data)).toEqual([1, 2, -2, 65504]);
    expect(displayRange(half.values(), { contrast: 'minmax', low: 1, high: 99 })).toEqual({ min: -2, max: 65504 });
  });

  it('refuses an input that is not 2-D', () => {
    expect(() => view(new NDArray(Float32Array.of(1, 2, 3), [3]))).toThrow('image-view: input "image": expected image2d (a 2-D array), got a 1-D array');
  });
});
