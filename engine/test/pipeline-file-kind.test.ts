// A pipeline path that names something other than a file of JSON text: refused by what it is, at once (a FIFO
// would block the read, /dev/zero would never end), and without quoting what a text file holds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importable, runInChild } from '../../test/child.js';
import { InputFileError, loadPipeline } from '../src/pipeline-file.js';

const dir = mkdtempSync(join(tmpdir(), 'emflow-pipeline-kind-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const compiled = importable(fileURLToPath(new URL('../dist/pipeline-file.js', import.meta.url)));

/** loadPipeline in a child process: on a FIFO or a device, an unguarded read would never end. */
const loadInChild = (file: string) => runInChild(`await (await import(${compiled})).loadPipeline(${JSON.stringify(file)});`, { timeoutMs: 10_000 });

describe('loadPipeline refuses what is not a regular file', () => {
  it('a FIFO', () => {
    const fifo = join(dir, 'pipe.json');
    spawnSync('mkfifo', [fifo]);
    expect(loadInChild(fifo)).toEqual({ name: 'InputFileError', error: `${fifo}: cannot read pipeline: is a FIFO, not a regular file` });
  });

  it('/dev/zero', () => {
    expect(loadInChild('/dev/zero')).toEqual({ name: 'InputFileError', error: '/dev/zero: cannot read pipeline: is a character device, not a regular file' });
  });

  it('a /proc file and an empty file', async () => {
    await expect(loadPipeline('/proc/self/environ')).rejects.toThrow(new InputFileError('/proc/self/environ: cannot read pipeline: is a file of /proc or /sys, not a regular file'));
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '');
    await expect(loadPipeline(empty)).rejects.toThrow(new InputFileError(`${empty}: cannot read pipeline: is an empty file`));
  });

  it('quotes nothing of a text file that is not JSON', async () => {
    await expect(loadPipeline('/etc/passwd')).rejects.toThrow(new InputFileError('/etc/passwd: not valid JSON at line 1, column 1: invalid symbol'));
  });
});
