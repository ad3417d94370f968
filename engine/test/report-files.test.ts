// The values `emflow report` reads from a run folder: a table file (Arrow's file format, as --out writes it) that is
// corrupt is left out with a note instead of hanging the command, as apache-arrow's reader did on some of them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { checkArrow } from '@emflow/sdk';
import { readRunFolder } from '../src/report/files.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-report-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const file = () => tableToIPC(tableFromArrays({ x: Float64Array.of(1, 2, 3), n: Int32Array.of(4, 5, 6), s: ['a', 'bb', 'ccc'] }), 'file');

/** The same seeded mutations of a table file as the ones that found the hang: 1 to 4 bytes changed each. */
function mutations(count: number): Uint8Array[] {
  const base = file();
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: count }, () => {
    const bytes = Uint8Array.from(base);
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) bytes[Math.floor(random() * base.length)] = Math.floor(random() * 256);
    return bytes;
  });
}

describe('table files of a run folder', () => {
  it('reads a good one, and leaves a corrupt one out with a note naming it, at once', () => {
    const dir = mkdtempSync(join(scratch, 'run-'));
    writeFileSync(join(dir, 'hist.table.0.arrow'), file());
    // mutation 32 made apache-arrow's file reader loop for good
    writeFileSync(join(dir, 'hist.table.1.arrow'), mutations(33)[32]);
    const started = performance.now();
    const { values, notes } = readRunFolder(dir);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(values.map((v) => [v.node, v.index])).toEqual([['hist', 0]]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^hist\.table\.1\.arrow was left out: /);
  });

  it('checks 3000 mutated files in well under a second each, and any it passes apache-arrow reads', async () => {
    const { tableFromIPC } = await import('apache-arrow');
    let passed = 0;
    for (const bytes of mutations(3000)) {
      const started = performance.now();
      try {
        checkArrow(bytes);
        passed++;
        tableFromIPC(bytes).toArray();
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
      }
      expect(performance.now() - started).toBeLessThan(1000);
    }
    expect(passed).toBeGreaterThan(100);
  });
});
