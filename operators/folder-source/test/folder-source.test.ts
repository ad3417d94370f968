import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeMrc } from '@emflow/formats';
import { localContext, NDArray, npyHeader, type DType, type FrameMeta } from '@emflow/sdk';
import { fileImages } from '../src/file-images.js';
import { byName } from '../src/folder-listing.js';
import { FolderSource } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-folder-source-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const allocate = (dtype: DType, shape: readonly number[], meta: FrameMeta) => NDArray.zeros(dtype, shape, meta);
const ctx = localContext('files');
const defaults = { pattern: '*', watch: false, interval: 500, stableTime: 0, idleTimeout: 0 };

const npyBytes = (array: NDArray) => Buffer.concat([npyHeader(array), new Uint8Array(array.data.buffer)]);
const image = new NDArray(Float32Array.from({ length: 6 }, (_, i) => i + 0.25), [2, 3]);
const stack = new NDArray(Int16Array.from({ length: 12 }, (_, i) => i - 6), [2, 2, 3]);

function folderWith(name: string, files: Record<string, Uint8Array | string>): string {
  const folder = join(scratch, name);
  mkdirSync(folder);
  for (const [file, content] of Object.entries(files)) writeFileSync(join(folder, file), content);
  return folder;
}

async function collect(iterable: AsyncIterable<{ image: NDArray }>): Promise<NDArray[]> {
  const images: NDArray[] = [];
  for await (const { image } of iterable) images.push(image);
  return images;
}

describe('byName', () => {
  it('sorts by code units, so zero-padded numbers come in order', () => {
    expect(byName(['mic-010.mrc', 'mic-002.mrc', 'Mic-999.mrc', 'mic-001.mrc'])).toEqual(['Mic-999.mrc', 'mic-001.mrc', 'mic-002.mrc', 'mic-010.mrc']);
  });
});

describe('fileImages', () => {
  it('gives a 2-D array as one image and a 3-D one as sections, with file metadata', () => {
    const volume = new NDArray(stack.data, stack.shape, { pixelSize: [3, 2, 1], units: 'Å', extra: 'kept' });
    const images = [...fileImages([image, volume], '/x/f.mrc', 4, allocate)];
    expect(images.map((i) => Array.from(i.data))).toEqual([[0.25, 1.25, 2.25, 3.25, 4.25, 5.25], [-6, -5, -4, -3, -2, -1], [0, 1, 2, 3, 4, 5]]);
    expect(images[0].meta).toEqual({ source: '/x/f.mrc', file: 4 });
    expect(images[2].meta).toEqual({ pixelSize: [2, 1], units: 'Å', extra: 'kept', source: '/x/f.mrc', file: 4, section: 1 });
    expect(images[2].dtype).toBe('int16');
  });

  it('rejects arrays that are not images or stacks', () => {
    expect(() => [...fileImages([new NDArray(new Float32Array(3), [3])], '/x/s.npy', 0, allocate)]).toThrow(
      'folder-source: /x/s.npy holds an array of shape [3], expected a 2-D image or a 3-D volume/stack',
    );
  });
});

describe('FolderSource', () => {
  it('emits the images of matching files in name order', async () => {
    const folder = folderWith('mixed', { 'b.npy': npyBytes(image), 'a.mrc': encodeMrc(stack, { voxelSize: [1.5, 1.5, 3] }), 'notes.txt': 'skip me' });
    mkdirSync(join(folder, 'c.npy')); // a folder whose name matches is not a file
    const images = await collect(new FolderSource().process({}, { ...defaults, folder, pattern: '*.{mrc,npy}' }, ctx));
    expect(images.map((i) => [i.meta.source, i.meta.file, i.meta.section])).toEqual([
      [join(folder, 'a.mrc'), 0, 0],
      [join(folder, 'a.mrc'), 0, 1],
      [join(folder, 'b.npy'), 1, undefined],
    ]);
    expect(images.map((i) => Array.from(i.data))).toEqual([[-6, -5, -4, -3, -2, -1], [0, 1, 2, 3, 4, 5], [0.25, 1.25, 2.25, 3.25, 4.25, 5.25]]);
    expect(images[0].meta).toMatchObject({ pixelSize: [1.5, 1.5], units: 'Å' });
  });

  it('reads TIFF files too', async () => {
    const folder = folderWith('tiff', {});
    copyFileSync(fileURLToPath(new URL('../../../data/tomviz-sample.tiff', import.meta.url)), join(folder, 'sample.tiff'));
    const images = await collect(new FolderSource().process({}, { ...defaults, folder }, ctx));
    expect(images.map((i) => [i.shape, i.dtype, i.meta.source])).toEqual([[[401, 401], 'uint8', join(folder, 'sample.tiff')]]);
  });

  it('reports a file type it cannot read', async () => {
    const folder = folderWith('with-text', { 'a.npy': npyBytes(image), 'notes.txt': 'x' });
    await expect(collect(new FolderSource().process({}, { ...defaults, folder }, ctx))).rejects.toThrow(
      `folder-source: ${join(folder, 'notes.txt')}: unknown file type ".txt" (known: .mrc .map .mrcs .st .rec .tif .tiff .npy)`,
    );
  });

  it('skips a FIFO among the files, and reports an empty file or a text file without quoting it', async () => {
    const folder = folderWith('hostile', { 'a.npy': npyBytes(image) });
    spawnSync('mkfifo', [join(folder, 'b.npy')]);
    expect((await collect(new FolderSource().process({}, { ...defaults, folder }, ctx))).map((i) => i.meta.source)).toEqual([join(folder, 'a.npy')]);
    writeFileSync(join(folder, 'c.tif'), '');
    await expect(collect(new FolderSource().process({}, { ...defaults, folder }, ctx))).rejects.toThrow(
      `folder-source: frame file: ${join(folder, 'c.tif')} is an empty file (expected a TIFF file)`,
    );
    rmSync(join(folder, 'c.tif'));
    symlinkSync('/etc/passwd', join(folder, 'd.mrc'));
    await expect(collect(new FolderSource().process({}, { ...defaults, folder }, ctx))).rejects.toThrow(
      new Error(`folder-source: ${join(folder, 'd.mrc')}: not an MRC file: no "MAP " stamp at byte 208`),
    );
  });

  it('reports an empty match, a missing folder and a file given as folder', async () => {
    const folder = folderWith('empty', { 'a.npy': npyBytes(image) });
    await expect(collect(new FolderSource().process({}, { ...defaults, folder, pattern: '*.mrc' }, ctx))).rejects.toThrow(`folder-source: no files match "*.mrc" in ${folder}`);
    const missing = join(scratch, 'missing');
    await expect(collect(new FolderSource().process({}, { ...defaults, folder: missing }, ctx))).rejects.toThrow(`folder-source: folder ${missing} does not exist`);
    const file = join(folder, 'a.npy');
    await expect(collect(new FolderSource().process({}, { ...defaults, folder: file }, ctx))).rejects.toThrow(`folder-source: folder ${file} is a file, expected a folder`);
  });

  it('watches: emits a file written in two halves only once it is complete', async () => {
    const interval = 40;
    const folder = folderWith('watched', { 'a.npy': npyBytes(image) });
    const source = new FolderSource().process({}, { ...defaults, folder, watch: true, interval }, ctx);
    try {
      const first = await source.next();
      expect(first.value!.image.meta.source).toBe(join(folder, 'a.npy'));

      const pending = source.next().then((step) => ({ step, at: performance.now() }));
      const bytes = npyBytes(stack);
      const half = Math.floor(bytes.length / 2);
      writeFileSync(join(folder, 'b.npy'), bytes.subarray(0, half));
      await sleep(interval / 3); // shorter than a check interval: the half file never looks settled
      appendFileSync(join(folder, 'b.npy'), bytes.subarray(half));
      const completedAt = performance.now();

      // a half-read .npy would have failed to decode and rejected `pending`
      const { step, at } = await pending;
      expect(step.value!.image.meta).toMatchObject({ source: join(folder, 'b.npy'), file: 1, section: 0 });
      expect(Array.from(step.value!.image.data)).toEqual([-6, -5, -4, -3, -2, -1]);
      expect(at - completedAt).toBeGreaterThanOrEqual(interval * 0.9); // seen changed once, then unchanged
      expect(Array.from((await source.next()).value!.image.data)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await source.return(undefined);
    }
  });
});
