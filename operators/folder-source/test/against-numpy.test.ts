// folder-source on a folder of files NumPy wrote or reads independently (MRC of several modes, TIFF pages, .npy
// images and stacks, the real TIFF in data/): the images, in name order, are the ones NumPy reads, section by section.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { localContext, type NDArray } from '@emflow/sdk';
import { differenceFromNumpy, readWithNumpy, sectionOf } from '../../../test/helpers.js';
import { FolderSource } from '../src/index.js';

const fixtureDir = fileURLToPath(new URL('../../../formats/test/fixtures/', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'emflow-folder-source-numpy-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

// name in the folder ← where it comes from; the names give the order
const files: [string, string][] = [
  ['a-int16.mrc', `${fixtureDir}mode-1.mrc`],
  ['b-float16.mrc', `${fixtureDir}mode-12.mrc`],
  ['c-big-endian.map', `${fixtureDir}mode-2-big-endian.mrc`],
  ['d-pages.tif', `${fixtureDir}tiff-int16-pages-deflate32946.tif`],
  ['e-calibrated.tif', `${fixtureDir}tiff-float32-raw.tif`],
  ['f-tomviz.tiff', fileURLToPath(new URL('../../../data/tomviz-sample.tiff', import.meta.url))],
  ['g-image.npy', `${fixtureDir}tiff-uint8-lzw.npy`],
  ['h-stack.npy', `${fixtureDir}tiff-int16-pages-deflate32946.npy`],
  ['i-image.npy', `${fixtureDir}png-input.npy`],
];
for (const [name, from] of files) copyFileSync(from, join(folder, name));

describe('folder-source against NumPy', () => {
  it('emits every file’s images in name order, each as NumPy reads it, with the file’s pixel size', async () => {
    const images: NDArray[] = [];
    for await (const { image } of new FolderSource().process({}, { folder, pattern: '*', watch: false, interval: 500, stableTime: 0, idleTimeout: 0 }, localContext('files'))) images.push(image);

    const numpy = readWithNumpy(...files.map(([name]) => join(folder, name)));
    // NumPy's reader gives MRC and TIFF files as [sections or pages, height, width] and .npy files as they are
    const expected = numpy.flatMap((array, file) => {
      const path = join(folder, files[file][0]);
      if (array.shape.length === 2) return [{ array, path, file, section: 0 }];
      return Array.from({ length: array.shape[0] }, (_, section) => ({ array: sectionOf(array, section), path, file, section }));
    });
    expect(images.map((i) => [i.meta.source, i.meta.file])).toEqual(expected.map((e) => [e.path, e.file]));
    expected.forEach(({ array, path, section }, k) => {
      expect(differenceFromNumpy(images[k], array), `${path}, section ${section}`).toBeUndefined();
      const { voxelSize, pixelSize } = numpy[images[k].meta.file as number].meta as { voxelSize?: number[]; pixelSize?: ([number, number] | null)[] };
      if (voxelSize) expect(images[k].meta.pixelSize, path).toEqual([voxelSize[1], voxelSize[0]]);
      const pagePixelSize = pixelSize?.[section];
      if (pagePixelSize) pagePixelSize.forEach((size, axis) => expect(images[k].meta.pixelSize![axis] / size, path).toBeCloseTo(1, 12));
    });
    expect(images).toHaveLength(3 + 3 + 3 + 3 + 1 + 1 + 1 + 3 + 1);
  });
});
