// folder-source following an acquisition, in this process: the done marker, the idle timeout, files written in
// pieces with pauses much longer than a check, a file changing while it is read, and the skip and record files
// through which `emflow run --resume` goes on where a run stopped.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { encodeMrc } from '@emflow/formats';
import { localContext, NDArray, npyHeader } from '@emflow/sdk';
import { FolderSource } from '../src/index.js';
import { watchFolder } from '../src/watch.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-folder-watch-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const newFolder = () => {
  const folder = join(scratch, `f${folders++}`);
  mkdirSync(folder);
  return folder;
};
const interval = 30;
const watching = { pattern: '*', watch: true, interval, stableTime: 0, idleTimeout: 0 };

const imageOf = (seed: number, shape = [8, 12]) => new NDArray(Int16Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => ((i * 7 + seed * 131) % 2000) - 1000), shape);
const mrc = (seed: number, shape?: number[]) => encodeMrc(imageOf(seed, shape));
const npyBytes = (array: NDArray) => Buffer.concat([npyHeader(array), new Uint8Array(array.data.buffer)]);

interface Emitted {
  source: string;
  file: number;
  frame: number;
  section?: number;
  data: number[];
  at: number;
}

/** Every image the source emits until it ends by itself, with when it came. */
async function drain(iterable: AsyncIterable<{ image: NDArray }>, into: Emitted[] = []): Promise<Emitted[]> {
  for await (const { image } of iterable) {
    const { source, file, frame, section } = image.meta as { source: string; file: number; frame: number; section?: number };
    into.push({ source, file, frame, section, data: Array.from(image.data), at: performance.now() });
  }
  return into;
}

describe('folder-source following an acquisition', () => {
  it('ends on the done marker once every file is emitted, in order, the marker never read', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'mic-001.mrc'), mrc(1));
    writeFileSync(join(folder, 'mic-002.mrc'), mrc(2));
    const run = drain(new FolderSource().process({}, { ...watching, folder, doneMarker: 'ACQUISITION_DONE' }, localContext('src')));
    await sleep(4 * interval);
    writeFileSync(join(folder, 'mic-003.mrc'), mrc(3));
    await sleep(interval / 2);
    writeFileSync(join(folder, 'ACQUISITION_DONE'), 'this is not an MRC file');
    const markedAt = performance.now();
    const images = await run;
    expect(images.map((i) => [i.source, i.file, i.frame])).toEqual([1, 2, 3].map((n, k) => [join(folder, `mic-00${n}.mrc`), k, k]));
    expect(images.map((i) => i.data)).toEqual([1, 2, 3].map((n) => Array.from(imageOf(n).data)));
    expect(performance.now() - markedAt).toBeLessThan(20 * interval);
  });

  it('ends at once when the marker is there from the start, after the files already there', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'b.npy'), npyBytes(imageOf(2)));
    writeFileSync(join(folder, 'a.npy'), npyBytes(imageOf(1)));
    writeFileSync(join(folder, 'DONE'), '');
    const images = await drain(new FolderSource().process({}, { ...watching, folder, doneMarker: 'DONE' }, localContext('src')));
    expect(images.map((i) => i.source)).toEqual([join(folder, 'a.npy'), join(folder, 'b.npy')]);
  });

  it('ends after the idle timeout; a file growing meanwhile counts as activity', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'a.npy'), npyBytes(imageOf(1)));
    const idleTimeout = 300;
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined); // b.npy is tried while it grows
    const started = performance.now();
    const run = drain(new FolderSource().process({}, { ...watching, folder, idleTimeout }, localContext('src')));
    // b.npy grows for 3 × 200 ms: each piece is a change, so the folder is never idle for 300 ms meanwhile
    const bytes = npyBytes(imageOf(2, [40, 40]));
    const pieces = [0, 100, 1000, 2000, bytes.length];
    for (let k = 1; k < pieces.length; k++) {
      appendFileSync(join(folder, 'b.npy'), bytes.subarray(pieces[k - 1], pieces[k]));
      if (k < pieces.length - 1) await sleep(200);
    }
    const lastWrite = performance.now();
    const images = await run.finally(() => logged.mockRestore());
    const ended = performance.now();
    expect(images.map((i) => i.source)).toEqual([join(folder, 'a.npy'), join(folder, 'b.npy')]);
    expect(images[1].data).toEqual(Array.from(imageOf(2, [40, 40]).data));
    expect(ended - lastWrite).toBeGreaterThanOrEqual(idleTimeout - interval);
    expect(ended - lastWrite).toBeLessThan(idleTimeout + 20 * interval);
    expect(lastWrite - started).toBeGreaterThan(3 * 200 - 50);
  });

  it('reads an MRC file written in pieces with pauses of many checks only once complete, once', async () => {
    const folder = newFolder();
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const source = new FolderSource().process({}, { ...watching, folder, doneMarker: 'DONE' }, localContext('src'));
      const run = drain(source);
      const bytes = mrc(5, [64, 64]);
      // shorter than the header, then the header and part of the data, then more, then the rest
      const cuts = [0, 500, 3000, 6000, bytes.length];
      for (let k = 1; k < cuts.length; k++) {
        appendFileSync(join(folder, 'slow.mrc'), bytes.subarray(cuts[k - 1], cuts[k]));
        await sleep(6 * interval);
      }
      writeFileSync(join(folder, 'DONE'), '');
      const images = await run;
      expect(images).toHaveLength(1);
      expect(images[0].data).toEqual(Array.from(imageOf(5, [64, 64]).data));
      const messages = logged.mock.calls.map(([m]) => String(m));
      // each incomplete state was tried once, not at every check
      expect(messages.filter((m) => m.includes('slow.mrc cannot be read yet'))).toHaveLength(3);
      expect(messages.some((m) => m.includes('shorter than the 1024-byte MRC header'))).toBe(true);
      expect(messages.some((m) => m.includes('truncated MRC file'))).toBe(true);
    } finally {
      logged.mockRestore();
    }
  });

  it('reports a file that stays cut short once the marker says the acquisition is done', async () => {
    const folder = newFolder();
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      writeFileSync(join(folder, 'cut.mrc'), mrc(1, [64, 64]).subarray(0, 1500));
      const run = drain(new FolderSource().process({}, { ...watching, folder, doneMarker: 'DONE' }, localContext('src')));
      await sleep(4 * interval);
      writeFileSync(join(folder, 'DONE'), '');
      await expect(run).rejects.toThrow(`folder-source: ${join(folder, 'cut.mrc')}: truncated MRC file`);
    } finally {
      logged.mockRestore();
    }
  });

  it('fails at once on a file type it cannot read, watching or not', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'notes.txt'), 'x');
    await expect(drain(new FolderSource().process({}, { ...watching, folder }, localContext('src')))).rejects.toThrow('unknown file type ".txt"');
  });

  it('waits stableTime before reading a file', async () => {
    const folder = newFolder();
    const started = performance.now();
    writeFileSync(join(folder, 'a.npy'), npyBytes(imageOf(1)));
    writeFileSync(join(folder, 'DONE'), '');
    const images = await drain(new FolderSource().process({}, { ...watching, folder, doneMarker: 'DONE', stableTime: 400 }, localContext('src')));
    expect(images).toHaveLength(1);
    expect(images[0].at - started).toBeGreaterThanOrEqual(400);
  });

  it('refuses a done marker that is not a file name', async () => {
    const folder = newFolder();
    await expect(drain(new FolderSource().process({}, { ...watching, folder, doneMarker: '../DONE' }, localContext('src')))).rejects.toThrow(
      'folder-source: doneMarker "../DONE" is not a file name',
    );
  });
});

describe('watchFolder', () => {
  it('does not emit a file that changed while it was read; it emits it once stable again', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'a.npy'), 'first');
    writeFileSync(join(folder, 'DONE'), '');
    let reads = 0;
    const files = [];
    for await (const file of watchFolder({
      folder,
      isMatch: () => true,
      interval,
      stableTime: 0,
      doneMarker: 'DONE',
      idleTimeout: 0,
      skip: () => false,
      read: async (name) => {
        const text = readFileSync(join(folder, name), 'utf8');
        if (reads++ === 0) appendFileSync(join(folder, name), ' and more'); // a writer going on meanwhile
        return text;
      },
    })) {
      files.push(file);
    }
    expect(files).toEqual([{ name: 'a.npy', value: 'first and more' }]);
    expect(reads).toBe(2);
  });
});

describe('folder-source skip and record files', () => {
  it('skips the files listed, numbers frames and files after them, and records what it emits', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'a.mrc'), mrc(1));
    writeFileSync(join(folder, 'b.mrc'), mrc(2, [2, 8, 12])); // two sections
    writeFileSync(join(folder, 'c.mrc'), mrc(3));
    writeFileSync(join(folder, 'd.mrc'), mrc(4));
    const skip = join(scratch, 'skip.jsonl');
    // a.mrc and c.mrc were done (3 frames, of which one from another folder), then a line cut short by a crash
    writeFileSync(
      skip,
      [{ path: join(folder, 'a.mrc'), frames: 1 }, { path: '/elsewhere/x.mrc', frames: 1 }, { path: join(folder, 'c.mrc'), frames: 1 }]
        .map((e) => JSON.stringify(e) + '\n')
        .join('') + `{"path": "${join(folder, 'd.mrc')}", "fra`,
    );
    const record = join(scratch, 'record.jsonl');
    for (const watch of [false, true]) {
      writeFileSync(record, '');
      if (watch) writeFileSync(join(folder, 'DONE'), '');
      const images = await drain(new FolderSource().process({}, { ...watching, watch, folder, skip, record, doneMarker: 'DONE' }, localContext('src')));
      expect(images.map((i) => [i.source, i.file, i.frame, i.section]), `watch: ${watch}`).toEqual([
        [join(folder, 'b.mrc'), 3, 3, 0],
        [join(folder, 'b.mrc'), 3, 4, 1],
        [join(folder, 'd.mrc'), 4, 5, 0],
      ]);
      expect(readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
        { path: join(folder, 'b.mrc'), first: 0, frames: 2 },
        { path: join(folder, 'd.mrc'), first: 2, frames: 1 },
      ]);
    }
  });

  it('emits nothing when every file was done, and says so when the skip file is missing', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, 'a.mrc'), mrc(1));
    const skip = join(scratch, 'all.jsonl');
    writeFileSync(skip, JSON.stringify({ path: join(folder, 'a.mrc'), frames: 1 }) + '\n');
    expect(await drain(new FolderSource().process({}, { ...watching, watch: false, folder, skip }, localContext('src')))).toEqual([]);
    const missing = join(scratch, 'missing.jsonl');
    await expect(drain(new FolderSource().process({}, { ...watching, watch: false, folder, skip: missing }, localContext('src')))).rejects.toThrow(
      `folder-source: skip list ${missing} cannot be read (ENOENT)`,
    );
  });
});
