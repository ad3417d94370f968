import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NDArray, type DType, type FrameMeta, type ProcessContext } from '@emflow/sdk';
import { edgeCases, firstDifference, readWithNumpy } from '../../../test/helpers.js';
import { TiffWriter } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-tiff-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const stack = (meta: FrameMeta) => new NDArray(Uint16Array.from({ length: 24 }, (_, i) => i * 2500), [2, 3, 4], meta);
const context = (frame: number) => ({ node: 'save', frame, alloc: () => { throw new Error('a sink allocates nothing'); } }) as unknown as ProcessContext;

describe('tiff-writer', () => {
  it('writes one file per frame, named by meta.frame, the source name and the node, that an independent decoder reads back', () => {
    const path = join(scratch, 'named', '{node}-{name}-{frame:03d}.tif');
    const data = stack({ frame: 7, source: '/data/mic-01.mrc', pixelSize: [1, 1.06, 1.06], units: 'Å' });
    expect(new TiffWriter().process({ data }, { path, overwrite: false }, context(2))).toEqual({});
    const [read] = readWithNumpy(join(scratch, 'named', 'save-mic-01-007.tif'));
    expect([read.dtype, read.shape, read.meta.pages]).toEqual(['uint16', [2, 3, 4], 2]);
    expect(firstDifference(read.values, data.data)).toBeUndefined();
    for (const [y, x] of read.meta.pixelSize as [number, number][]) {
      expect(y).toBeCloseTo(1.06, 6);
      expect(x).toBeCloseTo(1.06, 6);
    }
  });

  it('keeps every dtype’s values exactly (float16 widened to float32), as an independent decoder reads them', () => {
    const dtypes: DType[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64', 'float16'];
    const arrays = dtypes.map((dtype) => {
      const data = edgeCases(dtype, [2, 3, 4]);
      new TiffWriter().process({ data }, { path: join(scratch, 'dtypes', `${dtype}.tif`), overwrite: false }, context(0));
      return data;
    });
    const read = readWithNumpy(...dtypes.map((dtype) => join(scratch, 'dtypes', `${dtype}.tif`)));
    dtypes.forEach((dtype, i) => {
      expect([read[i].dtype, read[i].shape], dtype).toEqual([dtype === 'float16' ? 'float32' : dtype, [2, 3, 4]]);
      expect(firstDifference(read[i].values, arrays[i].values()), dtype).toBeUndefined();
    });
  });

  it('writes the pixel size in nm and µm as the same length in Å', () => {
    const image = (units: string, pixelSize: number[]) => new NDArray(new Float32Array(6), [2, 3], { units, pixelSize });
    new TiffWriter().process({ data: image('nm', [0.2, 0.35]) }, { path: join(scratch, 'nm.tif'), overwrite: false }, context(0));
    new TiffWriter().process({ data: image('µm', [3, 0.5, 1.25]) }, { path: join(scratch, 'um.tif'), overwrite: false }, context(0));
    const [nm, um] = readWithNumpy(join(scratch, 'nm.tif'), join(scratch, 'um.tif')).map((r) => (r.meta.pixelSize as [number, number][])[0]);
    [2, 3.5].forEach((size, i) => expect(nm[i]).toBeCloseTo(size, 6));
    [5000, 12500].forEach((size, i) => expect(um[i] / size).toBeCloseTo(1, 8));
  });

  it('falls back to the call’s frame index without meta.frame', () => {
    new TiffWriter().process({ data: stack({}) }, { path: join(scratch, 'plain', 'f{frame}.tif'), overwrite: false }, context(3));
    expect(existsSync(join(scratch, 'plain', 'f3.tif'))).toBe(true);
  });

  it('refuses to replace a file unless overwrite is set', () => {
    const path = join(scratch, 'twice.tif');
    const writer = new TiffWriter();
    writer.process({ data: stack({}) }, { path, overwrite: false }, context(0));
    expect(() => writer.process({ data: stack({}) }, { path, overwrite: false }, context(0))).toThrow(/^tiff-writer: .*twice\.tif exists \(set overwrite: true to replace it\)/);
    const replacement = new NDArray(Float64Array.of(1.5, -2), [1, 2]);
    writer.process({ data: replacement }, { path, overwrite: true }, context(0));
    expect(Array.from(readWithNumpy(path)[0].values)).toEqual([1.5, -2]);
  });

  it('names itself in errors about the pattern and the data', () => {
    expect(() => new TiffWriter().process({ data: stack({}) }, { path: join(scratch, '{page}.tif'), overwrite: false }, context(0))).toThrow(/^tiff-writer: name pattern .*unknown field \{page\}/);
    const line = new NDArray(Uint8Array.of(1, 2, 3), [3]);
    expect(() => new TiffWriter().process({ data: line }, { path: join(scratch, 'line.tif'), overwrite: false }, context(0))).toThrow(/^tiff-writer: encodeTiff: expected a 2-D image or a 3-D stack, got shape \[3\]/);
  });
});
