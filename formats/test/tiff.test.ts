import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, NDArray, type DType } from '@emflow/sdk';
import { decodeTiff, encodeTiff } from '../src/tiff.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixtureScript = join(fixtureDir, 'make_tiff_png_fixtures.py');
const tomvizPath = fileURLToPath(new URL('../../data/tomviz-sample.tiff', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'emflow-tiff-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const fixture = (name: string) => readFileSync(fixtureDir + name);
const readNpy = (name: string) => decodeNpy(fixture(name), name);
const bytesOf = (array: NDArray) => Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);

/** The pages of a TIFF as decoded by the fixture script's own (struct + zlib) reader, stacked. */
function decodeWithPython(bytes: Uint8Array, name: string): NDArray {
  const tiff = join(scratch, `${name}.tif`);
  const npy = join(scratch, `${name}.npy`);
  writeFileSync(tiff, bytes);
  execFileSync('python3', [fixtureScript, 'decode', tiff, npy]);
  return decodeNpy(readFileSync(npy), npy);
}

interface TomvizExpected {
  shape: number[];
  dtype: string;
  sum: number;
  mean: number;
  min: number;
  max: number;
  samples: { at: [number, number]; value: number }[];
  sha256: string;
  pixelSize: number[];
  units: string;
}

describe('decodeTiff on data/tomviz-sample.tiff (8-bit, deflate, predictor 2)', async () => {
  const expected = JSON.parse(fixture('tiff-tomviz-expected.json').toString('utf8')) as TomvizExpected;
  const pages = await decodeTiff(readFileSync(tomvizPath), tomvizPath);
  const [image] = pages;
  const values = Array.from(image.data);

  it('has one page of the right shape and dtype', () => {
    expect(pages).toHaveLength(1);
    expect(image.shape).toEqual(expected.shape);
    expect(image.dtype).toBe(expected.dtype);
  });

  it('matches the independent decode pixel for pixel', () => {
    expect(createHash('sha256').update(bytesOf(image)).digest('hex')).toBe(expected.sha256);
    for (const { at, value } of expected.samples) expect(image.data[at[0] * image.shape[1] + at[1]]).toBe(value);
  });

  it('matches the independent statistics', () => {
    const sum = values.reduce((a, b) => a + b, 0);
    expect(sum).toBe(expected.sum);
    expect(sum / values.length).toBeCloseTo(expected.mean, 12);
    expect(values.reduce((a, b) => Math.min(a, b))).toBe(expected.min);
    expect(values.reduce((a, b) => Math.max(a, b))).toBe(expected.max);
  });

  it('carries source, page and the pixel size from XResolution/YResolution in cm', () => {
    expect(image.meta).toMatchObject({ source: tomvizPath, page: 0, units: expected.units });
    expect(image.meta.pixelSize).toHaveLength(2);
    image.meta.pixelSize!.forEach((size, axis) => expect(size / expected.pixelSize[axis]).toBeCloseTo(1, 12));
  });
});

describe('decodeTiff on hand-written fixtures', () => {
  const cases: { file: string; dtype: DType; pages: number; what: string }[] = [
    { file: 'tiff-uint16-deflate-predictor', dtype: 'uint16', pages: 1, what: 'uint16, deflate (8), predictor 2, three strips' },
    { file: 'tiff-uint32-be-300-strips', dtype: 'uint32', pages: 1, what: 'big-endian uint32, deflate, 300 strips' },
    { file: 'tiff-float32-raw', dtype: 'float32', pages: 1, what: 'float32, uncompressed, -0 and 3.4e38' },
    { file: 'tiff-int16-pages-deflate32946', dtype: 'int16', pages: 3, what: 'int16, 3 pages, deflate (32946), three strips each' },
    { file: 'tiff-uint8-lzw', dtype: 'uint8', pages: 1, what: 'uint8, LZW through 12-bit codes and table resets' },
    { file: 'tiff-int32-packbits', dtype: 'int32', pages: 1, what: 'int32, PackBits' },
  ];
  for (const { file, dtype, pages: pageCount, what } of cases) {
    it(`reads ${what}`, async () => {
      const expected = readNpy(`${file}.npy`);
      const pages = await decodeTiff(fixture(`${file}.tif`), `${file}.tif`);
      const [height, width] = expected.shape.slice(-2);
      const pageBytes = height * width * expected.data.BYTES_PER_ELEMENT;
      expect(pages).toHaveLength(pageCount);
      pages.forEach((page, k) => {
        expect(page.dtype).toBe(dtype);
        expect(page.shape).toEqual([height, width]);
        expect(page.meta).toMatchObject({ source: `${file}.tif`, page: k });
        // Bitwise, so that -0 and every float bit pattern count.
        expect(bytesOf(page).equals(bytesOf(expected).subarray(k * pageBytes, (k + 1) * pageBytes))).toBe(true);
      });
    });
  }

  it('takes the pixel size per axis from XResolution (x) and YResolution (y)', async () => {
    const [image] = await decodeTiff(fixture('tiff-float32-raw.tif'), 'f.tif');
    expect(image.meta.units).toBe('Å');
    expect(image.meta.pixelSize![0]).toBeCloseTo(7.5, 12);
    expect(image.meta.pixelSize![1]).toBeCloseTo(5, 12);
  });

  it('gives no pixel size when the file has no resolution', async () => {
    const [image] = await decodeTiff(fixture('tiff-uint8-lzw.tif'), 'l.tif');
    expect(image.meta.pixelSize).toBeUndefined();
    expect(image.meta.units).toBeUndefined();
  });
});

describe('decodeTiff errors name the file and the problem', () => {
  const failures: [string, RegExp][] = [
    ['tiff-bad-magic.tif', /tiff-bad-magic\.tif: not a TIFF file: no "II\*\\0" or "MM\\0\*" signature at byte 0$/],
    ['tiff-truncated-ifd.tif', /tiff-truncated-ifd\.tif: .*truncated/],
    ['tiff-truncated-strip.tif', /tiff-truncated-strip\.tif: page 0: truncated file: strip 2 ends at byte \d+, the file has \d+ bytes/],
    ['tiff-uint16-be-predictor.tif', /tiff-uint16-be-predictor\.tif: page 0: big-endian 16-bit samples with Predictor 2 are not supported/],
    ['tiff-rgb.tif', /tiff-rgb\.tif: page 0: SamplesPerPixel is 3; only single-sample \(grayscale\)/],
    ['tiff-jpeg.tif', /tiff-jpeg\.tif: page 0: compression 7 \(JPEG\) is not supported/],
  ];
  for (const [file, message] of failures) {
    it(file, async () => {
      await expect(decodeTiff(fixture(file), file)).rejects.toThrow(message);
    });
  }

  it('an empty file', async () => {
    await expect(decodeTiff(new Uint8Array(0), 'empty.tif')).rejects.toThrow(/empty\.tif: not a TIFF file: no "II\*\\0" or "MM\\0\*" signature at byte 0$/);
  });
});

/** Values spanning each dtype's range, including its extremes. */
function sampleValues(dtype: DType, count: number): number[] {
  const ranges: Record<DType, [number, number]> = {
    int8: [-128, 127],
    uint8: [0, 255],
    int16: [-32768, 32767],
    uint16: [0, 65535],
    int32: [-(2 ** 31), 2 ** 31 - 1],
    uint32: [0, 2 ** 32 - 1],
    float16: [-65504, 65504],
    float32: [-3.4e38, 3.4e38],
    float64: [-1.7e308, 1.7e308],
  };
  const [low, high] = ranges[dtype];
  const integer = !dtype.startsWith('float');
  return Array.from({ length: count }, (_, i) => {
    if (i === 0) return low;
    if (i === 1) return high;
    const value = low + ((high - low) * ((i * 7919) % count)) / count;
    return integer ? Math.round(value) : value / 3;
  });
}

function arrayOf(dtype: Exclude<DType, 'float16'>, shape: number[], meta = {}): NDArray {
  const array = NDArray.zeros(dtype, shape, meta);
  array.data.set(sampleValues(dtype, array.size));
  return array;
}

const TIFF_DTYPES = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;

describe('encodeTiff', () => {
  for (const dtype of TIFF_DTYPES) {
    it(`round-trips ${dtype} images and stacks through decodeTiff`, async () => {
      const image = arrayOf(dtype, [5, 7]);
      const [decoded] = await decodeTiff(encodeTiff(image), 'image.tif');
      expect(decoded.dtype).toBe(dtype);
      expect(decoded.shape).toEqual([5, 7]);
      expect(decoded.data).toEqual(image.data);

      const stack = arrayOf(dtype, [3, 4, 6]);
      const pages = await decodeTiff(encodeTiff(stack), 'stack.tif');
      expect(pages.map((p) => p.shape)).toEqual([[4, 6], [4, 6], [4, 6]]);
      pages.forEach((page, k) => expect(page.data).toEqual(stack.data.subarray(k * 24, (k + 1) * 24)));
    });
  }

  it('writes files the independent Python reader parses to the same values, for every dtype', () => {
    for (const dtype of TIFF_DTYPES) {
      const stack = arrayOf(dtype, [2, 3, 5]);
      const parsed = decodeWithPython(encodeTiff(stack), dtype);
      expect(parsed.dtype).toBe(dtype);
      expect(parsed.shape).toEqual([2, 3, 5]);
      expect(bytesOf(parsed).equals(bytesOf(stack))).toBe(true);
    }
  });

  it('widens float16 to float32 without changing a value', async () => {
    const halves = NDArray.zeros('float16', [2, 3]);
    halves.data.set([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555]); // 1, -2, 65504, 2^-24, -0, 0.333
    const [decoded] = await decodeTiff(encodeTiff(halves), 'half.tif');
    expect(decoded.dtype).toBe('float32');
    expect(decoded.data).toEqual(halves.values());
  });

  it('keeps a pixel size in a length unit as resolution per cm', async () => {
    const [image] = await decodeTiff(encodeTiff(arrayOf('uint8', [3, 3], { pixelSize: [2, 1.5], units: 'nm' })), 'calibrated.tif');
    expect(image.meta.units).toBe('Å');
    expect(image.meta.pixelSize![0]).toBeCloseTo(20, 6);
    expect(image.meta.pixelSize![1]).toBeCloseTo(15, 6);

    const stack = arrayOf('uint8', [2, 3, 3], { pixelSize: [10, 1.06, 1.06], units: 'Å' });
    for (const page of await decodeTiff(encodeTiff(stack), 'stack.tif')) expect(page.meta.pixelSize![1]).toBeCloseTo(1.06, 6);
  });

  it('writes no resolution for pixel sizes without a length unit', async () => {
    const [image] = await decodeTiff(encodeTiff(arrayOf('uint8', [3, 3], { pixelSize: [1, 1], units: 'px' })), 'px.tif');
    expect(image.meta.pixelSize).toBeUndefined();
  });

  it('refuses arrays that are not 2-D or 3-D', () => {
    expect(() => encodeTiff(arrayOf('uint8', [4]))).toThrow(/encodeTiff: expected a 2-D image or a 3-D stack, got shape \[4\]/);
    expect(() => encodeTiff(arrayOf('uint8', [1, 2, 2, 2]))).toThrow(/shape \[1, 2, 2, 2\]/);
  });
});
