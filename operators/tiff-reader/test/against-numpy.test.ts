// tiff-reader's frames against NumPy: each hand-assembled fixture TIFF against the array NumPy wrote it from
// (formats/test/fixtures/make_tiff_png_fixtures.py: uncompressed, deflate, LZW, PackBits, predictor 2, big-endian,
// several pages), and data/tomviz-sample.tiff against that script's own TIFF decoder.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { localContext, type NDArray } from '@emflow/sdk';
import { differenceFromNumpy, readWithNumpy, sectionOf, type NumpyArray } from '../../../test/helpers.js';
import { TiffReader } from '../src/index.js';

const fixtureDir = fileURLToPath(new URL('../../../formats/test/fixtures/', import.meta.url));
const tomviz = fileURLToPath(new URL('../../../data/tomviz-sample.tiff', import.meta.url));
const fixtures = ['tiff-uint16-deflate-predictor', 'tiff-uint32-be-300-strips', 'tiff-float32-raw', 'tiff-int16-pages-deflate32946', 'tiff-uint8-lzw', 'tiff-int32-packbits'];
const cases: { path: string; reference: string }[] = [
  ...fixtures.map((name) => ({ path: `${fixtureDir}${name}.tif`, reference: `${fixtureDir}${name}.npy` })),
  { path: tomviz, reference: tomviz },
];
// the arrays, and the pixel sizes the calibrated files' tags give
const numpy = readWithNumpy(...cases.map((c) => c.reference), `${fixtureDir}tiff-float32-raw.tif`);
const calibrated: Record<string, NumpyArray> = { [`${fixtureDir}tiff-float32-raw.tif`]: numpy[cases.length], [tomviz]: numpy[cases.length - 1] };

/** [pages, height, width], whether NumPy's array has a page axis or not. */
const asPages = (array: NumpyArray): NumpyArray => (array.shape.length === 2 ? { ...array, shape: [1, ...array.shape] } : array);

async function read(path: string, pages: 'frames' | 'stack'): Promise<NDArray[]> {
  const frames: NDArray[] = [];
  for await (const output of new TiffReader().process({}, { path, pages }, localContext('reader'))) frames.push(pages === 'stack' ? output.stack! : output.image!);
  return frames;
}

describe('tiff-reader against NumPy', () => {
  cases.forEach(({ path }, i) => {
    const reference = asPages(numpy[i]);
    const pixelSizes = calibrated[path]?.meta.pixelSize as [number, number][] | undefined;

    it(`${basename(path)}: one frame per page, each NumPy's page`, async () => {
      const frames = await read(path, 'frames');
      expect(frames).toHaveLength(reference.shape[0]);
      frames.forEach((frame, k) => {
        expect(differenceFromNumpy(frame, sectionOf(reference, k)), `page ${k}`).toBeUndefined();
        expect(frame.meta).toMatchObject({ source: path, page: k });
        if (pixelSizes) pixelSizes[k].forEach((size, axis) => expect(frame.meta.pixelSize![axis] / size).toBeCloseTo(1, 12));
      });
    });

    it(`${basename(path)}: all pages as one stack`, async () => {
      const [stack] = await read(path, 'stack');
      expect(differenceFromNumpy(stack, reference)).toBeUndefined();
      expect(stack.meta).toMatchObject({ source: path, pages: reference.shape[0] });
    });
  });
});
