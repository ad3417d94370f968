// frame-monitor in a real session on the micrographs in data/ (read by folder-source; NumPy reads the same files
// with the independent MRC reader): its tables cross the data plane, history plots in plot-view, and a second
// run on other files starts from scratch in the same warm process.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TableFrame } from '@emflow/sdk';
import { pipeline, pythonJson } from '../../../test/helpers.js';
import { sessionOpener } from '../../../test/sessions.js';
import { COLUMNS } from '../src/index.js';

const open = sessionOpener();
const folder = fileURLToPath(new URL('../../../data/micrographs/', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/monitor_reference.py', import.meta.url));
const FIGURES = ['mean', 'std', 'min', 'max', 'meanOfMeans', 'stdOfMeans', 'pooledMean', 'pooledStd', 'sharpness', 'driftY', 'driftX'] as const;
type Figures = Record<(typeof FIGURES)[number], number>;

const rowsOf = (frames: TableFrame[]) => frames.map((f) => f.table.get(0)!.toJSON() as Record<(typeof COLUMNS)[number], number>);

describe('frame-monitor in a pipeline', () => {
  it('monitors a stream of micrographs as NumPy measures it, and starts afresh in the next run', async () => {
    const session = await open(
      pipeline(
        [
          { id: 'micrographs', operator: 'folder-source', params: { folder, pattern: '*.mrc' } },
          { id: 'monitor', operator: 'frame-monitor', params: { every: 2, window: 3 } },
          { id: 'plot', operator: 'plot-view', params: { x: 'frame', y: 'mean,meanOfMeans' } },
        ],
        ['micrographs.image->monitor.image', 'monitor.history->plot.table'],
      ),
    );
    const files = (names: number[]) => names.map((k) => `${folder}mic-00${k}.mrc`);
    const [all, last3] = pythonJson<Figures[][]>(script, 'rows', 512, ...files([0, 1, 2, 3, 4, 5]), '+', 'rows', 512, ...files([3, 4, 5]));
    const expectLike = (rows: ReturnType<typeof rowsOf>, reference: Figures[]) => {
      expect(rows.map((r) => [r.frame, r.count])).toEqual(reference.map((_, k) => [k, k + 1]));
      rows.forEach((row, k) => {
        for (const column of FIGURES) {
          const scale = column.startsWith('drift') ? 1 : Math.abs(reference[k].mean);
          expect(Math.abs(row[column] - reference[k][column]), `frame ${k} ${column}`).toBeLessThanOrEqual(1e-9 * scale);
        }
      });
      // wall-clock figures: times in order, throughput from the second frame on
      rows.slice(1).forEach((row, k) => {
        expect(row.time).toBeGreaterThan(rows[k].time);
        expect(row.elapsed).toBeCloseTo(row.time - rows[0].time, 9);
        expect(row.fps).toBeGreaterThan(0);
        expect(row.fps).toBeLessThan(Infinity);
      });
      expect(rows[0].fps).toBeNaN();
    };

    await session.run();
    const rows = rowsOf(session.outputs('monitor', 'row') as TableFrame[]);
    expectLike(rows, all);
    // history on frames 0, 2 and 4; the last one holds rows 0…4, and plot-view plots its columns
    const history = session.outputs('monitor', 'history') as TableFrame[];
    expect(history.map((h) => h.table.numRows)).toEqual([1, 3, 5]);
    expect(history[2].table.toArray().map((r) => r.toJSON())).toEqual(rows.slice(0, 5));
    const [, , plot] = session.outputs('plot', 'plot') as TableFrame[];
    expect(plot.table.schema.fields.map((f) => f.name)).toEqual(['frame', 'mean', 'meanOfMeans']);
    expect(Array.from(plot.table.getChild('meanOfMeans')!.toArray() as Float64Array)).toEqual(rows.slice(0, 5).map((r) => r.meanOfMeans));

    // the same warm operator, another stream: counts, running figures and the drift reference start again
    session.setParams('micrographs', { pattern: 'mic-00[3-5].mrc' });
    await session.run();
    expectLike(rowsOf(session.outputs('monitor', 'row') as TableFrame[]), last3);
  });
});
