// table-view in a real session (process runtime) and from the CLI, on the peak table of a synthetic lattice:
// the rows are the table's, sorted and limited, with every column kept; `emflow run --out` writes them as .arrow.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { FrameEvent } from '@emflow/engine';
import type { TableFrame } from '@emflow/sdk';
import { pipeline, root } from '../../../test/helpers.js';
import { sessionOpener } from '../../../test/sessions.js';

const open = sessionOpener();
const document = pipeline(
  [
    { id: 'lattice', operator: 'synthetic', params: { pattern: 'lattice', width: 128, height: 128, count: 1, seed: 11 } },
    { id: 'peaks', operator: 'peak-find', params: { threshold: 0.5, thresholdMode: 'absolute' } },
    { id: 'rows', operator: 'table-view', params: { sortBy: 'x', descending: true, limit: 7 } },
  ],
  ['lattice.image->peaks.image', 'peaks.peaks->rows.table'],
);
const rowsOf = (table: Table) => table.toArray().map((row) => row.toJSON() as Record<string, number>);

/** The rows sorted here by x, largest first, ties in table order: an independent stable sort. */
const expectedRows = (peaks: Table, limit: number) =>
  rowsOf(peaks)
    .map((row, i) => ({ row, i }))
    .sort((a, b) => b.row.x - a.row.x || a.i - b.i)
    .slice(0, limit)
    .map(({ row }) => row);

const scratch = mkdtempSync(join(tmpdir(), 'table-view-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('table-view in a pipeline', () => {
  it('hands its terminal frame to onFrame: the first rows by sortBy, every column kept', async () => {
    const session = await open(document);
    const events: FrameEvent[] = [];
    await session.run({ onFrame: (event) => void events.push(event) });
    expect(events.map(({ node, port, index }) => [node, port, index])).toEqual([['rows', 'table', 0]]);
    const { table, meta } = events[0].frame as TableFrame;
    const [peaks] = session.outputs('peaks', 'peaks') as TableFrame[];
    expect(peaks.table.numRows).toBeGreaterThan(10);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['x:Float64', 'y:Float64', 'height:Float64', 'sigma:Float64']);
    expect(rowsOf(table)).toEqual(expectedRows(peaks.table, 7));
    expect(meta).toMatchObject({ source: 'synthetic:lattice', frame: 0 });

    session.setParams('rows', { sortBy: 'X' });
    await expect(session.run()).rejects.toThrow("table-view: sortBy names the column 'X', which the table does not have (its columns: x, y, height, sigma)");
  });

  it('emflow run --out writes the rows as .arrow', () => {
    const file = join(scratch, 'rows.json');
    writeFileSync(file, JSON.stringify(document));
    const out = join(scratch, 'out');
    const result = spawnSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'run', file, '--out', out, '--set', 'rows.limit=3'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const table = tableFromIPC(readFileSync(join(out, 'rows.table.0.arrow')));
    expect(table.schema.fields.map((f) => f.name)).toEqual(['x', 'y', 'height', 'sigma']);
    const x = Array.from(table.getChild('x')!.toArray() as Float64Array);
    expect(x).toHaveLength(3);
    expect(x).toEqual([...x].sort((a, b) => b - a));
  });
});
