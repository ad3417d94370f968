// Readers given what is not the file they expect: FIFOs, devices, /proc files, folders and other people's text
// files. Each is refused up front or with a message that says what was expected and what was wrong, without
// blocking and without quoting the file's bytes or telling its size.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importable, runInChild } from '../../test/child.js';
import { decodeMrc, decodeTiff, readFrameFile, readWholeFile } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-hostile-files-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const compiled = importable(fileURLToPath(new URL('../dist/index.js', import.meta.url)));

/** `target` under a name with the extension a reader wants. */
function named(name: string, target: string): string {
  const link = join(scratch, name);
  symlinkSync(target, link);
  return link;
}

/** A secret of an unusual size: neither its words nor its size may appear in a message. */
const secret = join(scratch, 'secret');
writeFileSync(secret, 'password=hunter2\n'.repeat(45) + 'x'.repeat(1234 - 17 * 45));
const SECRET_SIZE = '1234';

function expectNothingQuoted(message: string) {
  for (const leak of ['hunter2', 'password', SECRET_SIZE, 'root', '/usr', ':x:', '2f 75', '72 6f']) expect(message).not.toContain(leak);
}

async function failure(read: () => unknown): Promise<string> {
  try {
    await read();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a failure');
}

describe('readWholeFile refuses what is not a regular file with content', () => {
  it('a FIFO, at once (in a child process: a blocking open would never return)', () => {
    const fifo = join(scratch, 'pipe.mrc');
    spawnSync('mkfifo', [fifo]);
    const outcome = runInChild(`(await import(${compiled})).readWholeFile(${JSON.stringify(fifo)}, 'mrc-reader: path', 'an MRC file');`, { timeoutMs: 10_000 });
    expect(outcome.error).toBe(`mrc-reader: path: ${fifo} is a FIFO, not a regular file (expected an MRC file)`);
  });

  it('/dev/zero, a /proc file, an empty file and a folder', () => {
    const read = (path: string) => () => readWholeFile(path, 'tiff-reader: path', 'a TIFF file');
    expect(read('/dev/zero')).toThrow('tiff-reader: path: /dev/zero is a character device, not a regular file (expected a TIFF file)');
    expect(read('/proc/self/environ')).toThrow('tiff-reader: path: /proc/self/environ is a file of /proc or /sys, not a regular file (expected a TIFF file)');
    const empty = join(scratch, 'empty.tif');
    writeFileSync(empty, '');
    expect(read(empty)).toThrow(`tiff-reader: path: ${empty} is an empty file (expected a TIFF file)`);
    const folder = join(scratch, 'folder.tif');
    mkdirSync(folder);
    expect(read(folder)).toThrow(`tiff-reader: path: ${folder} is a folder, not a file (expected a TIFF file)`);
  });
});

describe('a text file given as an image', () => {
  const notMrc = 'not an MRC file: no "MAP " stamp at byte 208';
  const notTiff = 'not a TIFF file: no "II*\\0" or "MM\\0*" signature at byte 0';
  it.each([
    ['/etc/passwd', 'passwd.mrc', notMrc],
    [secret, 'secret.mrc', notMrc],
    ['/etc/passwd', 'passwd.tif', notTiff],
    [secret, 'secret.tif', notTiff],
  ])('%s as %s: what is wrong, nothing quoted', async (target, name, problem) => {
    const path = named(name, target);
    const message = await failure(() => readFrameFile(path));
    expect(message).toBe(`${path}: ${problem}`);
    expectNothingQuoted(message);
  });

  it('a short file as MRC: its size is not told', () => {
    const message = (() => {
      try {
        decodeMrc(Buffer.from('password=hunter2, 1234 bytes'), 'short.mrc');
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toBe('short.mrc: not an MRC file: shorter than the 1024-byte MRC header');
  });

  it('a short file as TIFF', async () => {
    await expect(decodeTiff(Buffer.from('ro'), 'short.tif')).rejects.toThrow(/^short\.tif: not a TIFF file: no "II\*\\0" or "MM\\0\*" signature at byte 0$/);
  });
});

describe('readFrameFile says what it expected, by extension', () => {
  it.each([
    ['zero.mrc', 'an MRC file'],
    ['zero.tiff', 'a TIFF file'],
    ['zero.npy', 'a NumPy .npy file'],
  ])('%s', async (name, expected) => {
    const path = named(name, '/dev/zero');
    expect(await failure(() => readFrameFile(path))).toBe(`frame file: ${path} is a character device, not a regular file (expected ${expected})`);
  });
});
