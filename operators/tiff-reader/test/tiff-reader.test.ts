import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, localContext, NDArray, type DType, type FrameMeta } from '@emflow/sdk';
import { TiffReader } from '../src/index.js';
import { stackFrame } from '../src/tiff-pages.js';

const fixtureDir = fileURLToPath(new URL('../../../formats/test/fixtures/', import.meta.url));
const threePages = `${fixtureDir}tiff-int16-pages-deflate32946.tif`;
const expected = decodeNpy(readFileSync(`${fixtureDir}tiff-int16-pages-deflate32946.npy`), 'expected');
const allocate = (dtype: DType, shape: readonly number[], meta: FrameMeta) => NDArray.zeros(dtype, shape, meta);

/** A local context, and the ports its alloc was called for. */
function recordingContext() {
  const ctx = localContext('reader');
  return { ctx, ports: ctx.allocated };
}

async function run(path: string, pages: 'frames' | 'stack') {
  const { ctx, ports } = recordingContext();
  const frames: { image?: NDArray; stack?: NDArray }[] = [];
  for await (const output of new TiffReader().process({}, { path, pages }, ctx)) frames.push(output);
  return { frames, ports };
}

describe('tiff-reader', () => {
  it('emits one image per page on `image`, in allocated arrays', async () => {
    const { frames, ports } = await run(threePages, 'frames');
    expect(ports).toEqual(['image', 'image', 'image']);
    expect(frames).toHaveLength(3);
    frames.forEach(({ image }, k) => {
      expect(image!.dtype).toBe('int16');
      expect(image!.shape).toEqual([9, 10]);
      expect(image!.data).toEqual(expected.data.subarray(k * 90, (k + 1) * 90));
      expect(image!.meta).toEqual({ source: threePages, page: k });
    });
  });

  it('emits all pages as one stack on `stack`', async () => {
    const { frames, ports } = await run(threePages, 'stack');
    expect(ports).toEqual(['stack']);
    const stack = frames[0].stack!;
    expect(stack.shape).toEqual([3, 9, 10]);
    expect(stack.data).toEqual(expected.data);
    expect(stack.meta).toEqual({ source: threePages, pages: 3 });
  });

  it('keeps the pixel size of a calibrated page', async () => {
    const { frames } = await run(`${fixtureDir}tiff-float32-raw.tif`, 'frames');
    expect(frames[0].image!.meta).toMatchObject({ units: 'Å', page: 0 });
    expect(frames[0].image!.meta.pixelSize![1]).toBeCloseTo(5, 12);
  });

  it('refuses to stack pages of different shape or dtype, naming the page', () => {
    const pages = [NDArray.zeros('uint8', [4, 5]), NDArray.zeros('uint8', [4, 5]), NDArray.zeros('uint8', [5, 4])];
    expect(() => stackFrame(pages, 'mixed.tif', allocate)).toThrow(
      'tiff-reader: mixed.tif: page 2 is 5×4 uint8, page 0 is 4×5 uint8; pages = "stack" needs pages of one shape and dtype (read them with pages = "frames")',
    );
    expect(() => stackFrame([pages[0], NDArray.zeros('int8', [4, 5])], 'mixed.tif', allocate)).toThrow(/page 1 is 4×5 int8/);
  });

  it('names itself, the param and the file in errors', async () => {
    await expect(run(`${fixtureDir}no-such.tif`, 'frames')).rejects.toThrow(/^tiff-reader: path: .*no-such\.tif: no such file/);
    await expect(run(`${fixtureDir}tiff-bad-magic.tif`, 'frames')).rejects.toThrow(/^tiff-reader: .*tiff-bad-magic\.tif: not a TIFF file/);
  });

  it('refuses what is not a regular file up front, and quotes nothing of a text file', async () => {
    await expect(run('/dev/zero', 'frames')).rejects.toThrow('tiff-reader: path: /dev/zero is a character device, not a regular file (expected a TIFF file)');
    await expect(run(fixtureDir, 'stack')).rejects.toThrow(`tiff-reader: path: ${fixtureDir} is a folder, not a file (expected a TIFF file)`);
    await expect(run('/etc/passwd', 'frames')).rejects.toThrow(/^tiff-reader: \/etc\/passwd: not a TIFF file: no "II\*\\0" or "MM\\0\*" signature at byte 0$/);
  });
});
