import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWholeFile, writeNewFile } from '../src/files.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-files-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const bytes = (...values: number[]) => Uint8Array.from(values);
const isRoot = process.getuid?.() === 0;

describe('writeNewFile', () => {
  it('creates missing parent folders', () => {
    const path = join(scratch, 'a/b/c/out.bin');
    writeNewFile(path, bytes(1, 2, 3), false);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
  });

  it('refuses to overwrite unless told to', () => {
    const path = join(scratch, 'once.bin');
    writeNewFile(path, bytes(1), false);
    expect(() => writeNewFile(path, bytes(2), false)).toThrow(`${path} exists (set overwrite: true to replace it)`);
    expect([...readFileSync(path)]).toEqual([1]);
  });

  it('replaces an existing file through a temporary file when overwriting', () => {
    const folder = join(scratch, 'replace');
    const path = join(folder, 'file.bin');
    writeNewFile(path, bytes(1, 1, 1, 1), false);
    writeNewFile(path, bytes(9), true);
    expect([...readFileSync(path)]).toEqual([9]);
    expect(readdirSync(folder)).toEqual(['file.bin']);
  });

  it('says so when the path is a folder or a parent is a file', () => {
    mkdirSync(join(scratch, 'folder'));
    expect(() => writeNewFile(join(scratch, 'folder'), bytes(1), false)).toThrow(`${join(scratch, 'folder')} is a folder, expected a file name`);
    expect(() => writeNewFile(join(scratch, 'folder'), bytes(1), true)).toThrow(/is a folder/);
    expect(readdirSync(scratch).filter((name) => name.includes('.tmp-'))).toEqual([]);
    writeFileSync(join(scratch, 'plain'), 'x');
    expect(() => writeNewFile(join(scratch, 'plain/inside.bin'), bytes(1), false)).toThrow(`cannot create the folder for ${join(scratch, 'plain/inside.bin')}: ${join(scratch, 'plain')}: a part of this path is a file, not a folder`);
  });

  it.skipIf(isRoot)('reports permission errors with the path', () => {
    const locked = join(scratch, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    expect(() => writeNewFile(join(locked, 'x.bin'), bytes(1), false)).toThrow(`${join(locked, 'x.bin')}: permission denied`);
    chmodSync(locked, 0o700);
  });
});

describe('readWholeFile', () => {
  it('reads every byte', () => {
    const path = join(scratch, 'read.bin');
    const content = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    writeFileSync(path, content);
    expect(Buffer.from(content).equals(readWholeFile(path, 'test'))).toBe(true);
  });

  it('names the reader and the file in errors', () => {
    const missing = join(scratch, 'missing.mrc');
    expect(() => readWholeFile(missing, 'mrc-reader: path')).toThrow(`mrc-reader: path: ${missing}: no such file or folder`);
    expect(() => readWholeFile(scratch, 'mrc-reader: path')).toThrow(`mrc-reader: path: ${scratch} is a folder, expected a file`);
  });

  it.skipIf(isRoot)('reports unreadable files', () => {
    const path = join(scratch, 'secret.bin');
    writeFileSync(path, 'x', { mode: 0o000 });
    expect(() => readWholeFile(path, 'reader')).toThrow(`reader: ${path}: permission denied`);
  });
});
