// The shared-memory folder's free bytes as grants see them: a reading kept for a short while (no statfs per frame),
// less what the session's own slots grew by since, and read anew for a request to grow. Checked against statfs.
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeSpace } from '../src/session/slots.js';
import { shmRoot } from '../src/session/session-dir.js';

const dir = mkdtempSync(join(shmRoot(), 'emflow-free-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 2 ** 20;
const statfsFree = () => {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
};
/** other processes on this machine may use a little of the folder between two readings */
const near = (a: number, b: number) => Math.abs(a - b) <= 8 * MiB;

describe('free space of the shared-memory folder', () => {
  it('a reading is what statfs says', () => {
    expect(near(freeSpace(dir).freeBytes(), statfsFree())).toBe(true);
  });

  it('within its lifetime a reading is kept, less what the session took; a fresh read forgets what was taken', () => {
    const free = freeSpace(dir, 60_000);
    const first = free.freeBytes();
    free.took(256 * MiB);
    // nothing was written: statfs would not show the 256 MiB, so only the kept reading can be this low
    expect(free.freeBytes()).toBe(first - 256 * MiB);
    expect(near(free.freeBytes(true), statfsFree())).toBe(true);
  });

  it('an old reading is read anew', () => {
    const free = freeSpace(dir, 0);
    const first = free.freeBytes();
    free.took(256 * MiB);
    expect(near(free.freeBytes(), first)).toBe(true);
  });

  it('never says less than nothing', () => {
    const free = freeSpace(dir, 60_000);
    free.freeBytes();
    free.took(Number.MAX_SAFE_INTEGER);
    expect(free.freeBytes()).toBe(0);
  });
});
