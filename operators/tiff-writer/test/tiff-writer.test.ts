import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeTiff } from '@emflow/formats';
import { NDArray, type FrameMeta, type ProcessContext } from '@emflow/sdk';
import { TiffWriter } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-tiff-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const stack = (meta: FrameMeta) => new NDArray(Uint16Array.from({ length: 24 }, (_, i) => i * 2500), [2, 3, 4], meta);
const context = (frame: number) => ({ node: 'save', frame, alloc: () => { throw new Error('a sink allocates nothing'); } }) as unknown as ProcessContext;

describe('tiff-writer', () => {
  it('writes one file per frame, named by meta.frame, the source name and the node', async () => {
    const path = join(scratch, 'named', '{node}-{name}-{frame:03d}.tif');
    const data = stack({ frame: 7, source: '/data/mic-01.mrc', pixelSize: [1, 1.06, 1.06], units: 'Å' });
    expect(new TiffWriter().process({ data }, { path, overwrite: false }, context(2))).toEqual({});
    const file = join(scratch, 'named', 'save-mic-01-007.tif');
    const pages = await decodeTiff(readFileSync(file), file);
    expect(pages).toHaveLength(2);
    pages.forEach((page, k) => {
      expect(page.dtype).toBe('uint16');
      expect(page.data).toEqual(data.data.subarray(k * 12, (k + 1) * 12));
      expect(page.meta.pixelSize![0]).toBeCloseTo(1.06, 6);
    });
  });

  it('falls back to the call’s frame index without meta.frame', () => {
    new TiffWriter().process({ data: stack({}) }, { path: join(scratch, 'plain', 'f{frame}.tif'), overwrite: false }, context(3));
    expect(existsSync(join(scratch, 'plain', 'f3.tif'))).toBe(true);
  });

  it('refuses to replace a file unless overwrite is set', async () => {
    const path = join(scratch, 'twice.tif');
    const writer = new TiffWriter();
    writer.process({ data: stack({}) }, { path, overwrite: false }, context(0));
    expect(() => writer.process({ data: stack({}) }, { path, overwrite: false }, context(0))).toThrow(/^tiff-writer: .*twice\.tif exists \(set overwrite: true to replace it\)/);
    const replacement = new NDArray(Float64Array.of(1.5, -2), [1, 2]);
    writer.process({ data: replacement }, { path, overwrite: true }, context(0));
    expect((await decodeTiff(readFileSync(path), path))[0].data).toEqual(replacement.data);
  });

  it('names itself in errors about the pattern and the data', () => {
    expect(() => new TiffWriter().process({ data: stack({}) }, { path: join(scratch, '{page}.tif'), overwrite: false }, context(0))).toThrow(/^tiff-writer: name pattern .*unknown field \{page\}/);
    const line = new NDArray(Uint8Array.of(1, 2, 3), [3]);
    expect(() => new TiffWriter().process({ data: line }, { path: join(scratch, 'line.tif'), overwrite: false }, context(0))).toThrow(/^tiff-writer: encodeTiff: expected a 2-D image or a 3-D stack, got shape \[3\]/);
  });
});
