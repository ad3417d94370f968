// plot-view in a real session (process runtime) and from the CLI, on the peak table of a synthetic lattice: the
// plotted columns are the table's, the title and labels travel as frame metadata (schema metadata emflow.meta),
// also in the .arrow file `emflow run --out` writes.
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
    { id: 'plot', operator: 'plot-view', params: { x: 'x', y: 'height,sigma', title: 'lattice peaks', xLabel: 'x (px)', logY: true } },
  ],
  ['lattice.image->peaks.image', 'peaks.peaks->plot.table'],
);
const column = (table: Table, name: string) => Array.from(table.getChild(name)!.toArray() as Float64Array);

const scratch = mkdtempSync(join(tmpdir(), 'plot-view-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('plot-view in a pipeline', () => {
  it("hands its terminal frame to onFrame: the table's x and series columns, with title, xLabel and logY", async () => {
    const session = await open(document);
    const events: FrameEvent[] = [];
    await session.run({ onFrame: (event) => void events.push(event) });
    expect(events.map(({ node, port, index }) => [node, port, index])).toEqual([['plot', 'plot', 0]]);
    const { table, meta } = events[0].frame as TableFrame;
    const [peaks] = session.outputs('peaks', 'peaks') as TableFrame[];
    expect(peaks.table.numRows).toBeGreaterThan(10);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['x:Float64', 'height:Float64', 'sigma:Float64']);
    for (const name of ['x', 'height', 'sigma']) expect(column(table, name), name).toEqual(column(peaks.table, name));
    expect(meta).toMatchObject({ title: 'lattice peaks', xLabel: 'x (px)', logY: true, source: 'synthetic:lattice', frame: 0 });

    session.setParams('plot', { y: 'height,width' });
    await expect(session.run()).rejects.toThrow("plot-view: y names a column the table does not have: 'width' (its columns: x (Float64), y (Float64), height (Float64), sigma (Float64))");
  });

  it('emflow run --out writes the plotted columns as .arrow, with the plot metadata', () => {
    const file = join(scratch, 'plot.json');
    writeFileSync(file, JSON.stringify(document));
    const out = join(scratch, 'out');
    const result = spawnSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'run', file, '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const table = tableFromIPC(readFileSync(join(out, 'plot.plot.0.arrow')));
    expect(table.schema.fields.map((f) => f.name)).toEqual(['x', 'height', 'sigma']);
    expect(table.numRows).toBeGreaterThan(10);
    expect(JSON.parse(table.schema.metadata.get('emflow.meta')!)).toMatchObject({ title: 'lattice peaks', xLabel: 'x (px)', logY: true });
  });
});
