import { chmodSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importable, isRoot, runInChild } from '../../test/child.js';
import { readWholeFile, writeNewFile } from '../src/files.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-files-test-'));
chmodSync(scratch, 0o755); // the permission cases run as another user
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const bytes = (...values: number[]) => Uint8Array.from(values);
const compiled = importable(fileURLToPath(new URL('../dist/files.js', import.meta.url)));

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

  describe('never writes through a symbolic link', () => {
    /** A folder with an unrelated file that a planted link points at; returns the paths and the file's bytes. */
    function planted(name: string) {
      const folder = join(scratch, name);
      mkdirSync(folder);
      const unrelated = join(scratch, `${name}-unrelated.txt`);
      writeFileSync(unrelated, 'precious\n');
      return { folder, unrelated, original: readFileSync(unrelated) };
    }

    it('a link planted at the temporary name a writer used to use (PATH.tmp-PID) is left alone', () => {
      const { folder, unrelated, original } = planted('guessable-temp');
      const path = join(folder, 'out.bin');
      writeNewFile(path, bytes(1), false);
      symlinkSync(unrelated, `${path}.tmp-${process.pid}`);
      writeNewFile(path, bytes(7, 7), true);
      expect(readFileSync(unrelated).equals(original)).toBe(true);
      expect([...readFileSync(path)]).toEqual([7, 7]);
      expect(lstatSync(path).isFile()).toBe(true);
      expect(readdirSync(folder).sort()).toEqual(['out.bin', `out.bin.tmp-${process.pid}`]);
    });

    it.each([false, true])('a link at the target is refused (overwrite: %s), the file it points at unchanged', (overwrite) => {
      const { folder, unrelated, original } = planted(`link-target-${overwrite}`);
      const path = join(folder, 'out.bin');
      symlinkSync(unrelated, path);
      expect(() => writeNewFile(path, bytes(1, 2, 3), overwrite)).toThrow(
        `${path} is a symbolic link; emflow does not write through links (remove it or choose another path)`,
      );
      expect(readFileSync(unrelated).equals(original)).toBe(true);
      expect(readlinkSync(path)).toBe(unrelated);
      expect(readdirSync(folder)).toEqual(['out.bin']);
    });

    it('a dangling link at the target is refused too: nothing is created where it points', () => {
      const { folder } = planted('dangling');
      const path = join(folder, 'out.bin');
      const target = join(scratch, 'dangling-target.bin');
      symlinkSync(target, path);
      for (const overwrite of [false, true]) expect(() => writeNewFile(path, bytes(1), overwrite)).toThrow(`${path} is a symbolic link`);
      expect(() => statSync(target)).toThrow();
    });

    it('a link to a folder that the user made is followed', () => {
      const { folder } = planted('own-folder-link');
      const elsewhere = join(scratch, 'own-folder-link-elsewhere');
      mkdirSync(elsewhere);
      symlinkSync(elsewhere, join(folder, 'sub'));
      writeNewFile(join(folder, 'sub/out.bin'), bytes(5), false);
      expect(readdirSync(elsewhere)).toEqual(['out.bin']);
    });

    // Only root can give a link to another user, as a planting user's link would be.
    it.runIf(isRoot)('a link to a folder that another user planted in the output folder is not followed', () => {
      const { folder } = planted('planted-folder-link');
      const elsewhere = join(scratch, 'planted-folder-link-elsewhere');
      mkdirSync(elsewhere);
      const link = join(folder, 'sub');
      symlinkSync(elsewhere, link);
      lchownSync(link, 65534, 65534);
      const path = join(folder, 'sub/deeper/out.bin');
      expect(() => writeNewFile(path, bytes(5), true)).toThrow(
        `cannot create the folder for ${path}: ${link} is a symbolic link owned by uid 65534 in a folder owned by uid 0; emflow follows only links of its own user or of the folder's owner`,
      );
      expect(readdirSync(elsewhere)).toEqual([]);
    });

    it('creates temporaries exclusively, with unguessable names, in the target folder and removes them', () => {
      const folder = join(scratch, 'temporaries');
      const path = join(folder, 'file.bin');
      for (let i = 0; i < 3; i++) writeNewFile(path, bytes(i), true);
      expect(readdirSync(folder)).toEqual(['file.bin']);
      expect(statSync(path).mode & 0o777).toBe(0o666 & ~process.umask());
    });
  });

  it('says so when the path is a folder or a parent is a file', () => {
    mkdirSync(join(scratch, 'folder'));
    expect(() => writeNewFile(join(scratch, 'folder'), bytes(1), false)).toThrow(`${join(scratch, 'folder')} is a folder, expected a file name`);
    expect(() => writeNewFile(join(scratch, 'folder'), bytes(1), true)).toThrow(/is a folder/);
    expect(readdirSync(scratch).filter((name) => name.includes('.tmp-'))).toEqual([]);
    writeFileSync(join(scratch, 'plain'), 'x');
    expect(() => writeNewFile(join(scratch, 'plain/inside.bin'), bytes(1), false)).toThrow(`cannot create the folder for ${join(scratch, 'plain/inside.bin')}: ${join(scratch, 'plain')}: a part of this path is a file, not a folder`);
  });

  it('reports permission errors with the path (as an unprivileged user)', () => {
    const locked = join(scratch, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    const path = join(locked, 'x.bin');
    const outcome = runInChild(`(await import(${compiled})).writeNewFile(${JSON.stringify(path)}, new Uint8Array([1]), false);`, { unprivileged: true });
    chmodSync(locked, 0o700);
    expect(outcome.error).toBe(`${path}: permission denied`);
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
    expect(() => readWholeFile(scratch, 'mrc-reader: path', 'an MRC file')).toThrow(`mrc-reader: path: ${scratch} is a folder, not a file (expected an MRC file)`);
  });

  it('reports unreadable files (as an unprivileged user)', () => {
    const path = join(scratch, 'secret.bin');
    writeFileSync(path, 'x', { mode: 0o000 });
    const outcome = runInChild(`(await import(${compiled})).readWholeFile(${JSON.stringify(path)}, 'reader');`, { unprivileged: true });
    expect(outcome.error).toBe(`reader: ${path}: permission denied`);
  });
});
