// The shared-memory addon: two mappings of one file share their pages; unmap detaches; errors name the file; only
// regular files are mapped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { map, SlotMappings, unmap } from '@emflow/sdk';

const dir = mkdtempSync('/dev/shm/emflow-test-shm-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('map / unmap', () => {
  it('maps a file so that a writer and a reader see the same bytes, with no copy', () => {
    const path = join(dir, 'slot');
    writeFileSync(path, Buffer.alloc(1 << 20));
    const writer = new Float32Array(map(path, 0, 'rw'));
    const reader = new Float32Array(map(path, 0, 'r'));
    writer[12345] = 3.25;
    expect(reader[12345]).toBe(3.25);
    expect(readFileSync(path).readFloatLE(12345 * 4)).toBe(3.25);
    unmap(writer.buffer as ArrayBuffer);
    unmap(reader.buffer as ArrayBuffer);
  });

  it('detaches the buffer on unmap, so views become empty instead of dangling; a second unmap is harmless', () => {
    const path = join(dir, 'detach');
    writeFileSync(path, Buffer.alloc(4096));
    const buffer = map(path, 4096, 'rw');
    const view = new Uint8Array(buffer);
    unmap(buffer);
    expect(buffer.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(() => unmap(buffer)).not.toThrow();
  });

  it('names the file and the reason when it cannot map', () => {
    expect(() => map(join(dir, 'missing'), 0, 'r')).toThrow(`cannot open ${join(dir, 'missing')}: No such file or directory`);
    const small = join(dir, 'small');
    writeFileSync(small, Buffer.alloc(10));
    expect(() => map(small, 4096, 'r')).toThrow(`mapping larger than file ${small}`);
    expect(() => map(small, 0, 'x' as 'r')).toThrow("mode must be 'r' or 'rw'");
  });

  it('maps only regular files: a link is not followed, a FIFO or a folder is refused without blocking', () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, Buffer.from('not a frame'));
    const link = join(dir, 'link');
    symlinkSync(secret, link);
    expect(() => map(link, 0, 'r')).toThrow(`cannot open ${link}: Too many levels of symbolic links`);
    expect(() => map(link, 0, 'rw')).toThrow(`cannot open ${link}: Too many levels of symbolic links`);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => map(fifo, 0, 'r')).toThrow(`not a regular file, cannot map ${fifo}`);
    expect(() => map(dir, 0, 'r')).toThrow(`not a regular file, cannot map ${dir}`);
  });
});

describe('SlotMappings', () => {
  it('maps each slot once, remaps when it grew, and refuses paths outside the session directory', () => {
    const slots = new SlotMappings(dir);
    writeFileSync(join(dir, 'a.image.0'), Buffer.alloc(8192));
    const first = slots.bytes('a.image.0', 8192, 'rw');
    expect(slots.bytes('a.image.0', 8192, 'r')).toBe(first);
    writeFileSync(join(dir, 'a.image.0'), Buffer.alloc(16384));
    const grown = slots.bytes('a.image.0', 16384, 'r');
    expect(grown.byteLength).toBe(16384);
    expect(first.byteLength).toBe(0);
    for (const outside of ['../etc/passwd', '/etc/passwd', 'a/../../x', 'a/b/c', '.hidden', 'node/.x', 'node/', '']) {
      expect(() => slots.bytes(outside, 10, 'r')).toThrow(`slot name "${outside}" must be a file name, or a folder and a file name`);
    }
    slots.clear();
    expect(grown.byteLength).toBe(0);
  });
});
