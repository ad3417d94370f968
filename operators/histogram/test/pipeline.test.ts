// histogram in a real session: its table crosses the data plane (Arrow IPC in a slot) and plots in plot-view.
import { describe, expect, it } from 'vitest';
import type { TableFrame } from '@emflow/sdk';
import { synthesize } from '../../synthetic/src/patterns.js';
import { pipeline } from '../../../test/helpers.js';
import { sessionOpener } from '../../../test/sessions.js';

const open = sessionOpener();

describe('histogram in a pipeline', () => {
  it('sends its bin edges and counts through a slot, as numpy.histogram counts them', async () => {
    const session = await open(
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 64, seed: 5 } },
          { id: 'hist', operator: 'histogram', params: { bins: 16, min: -4, max: 4 } },
          { id: 'plot', operator: 'plot-view', params: { x: 'bin_start', y: 'count' } },
        ],
        ['src.image->hist.image', 'hist.histogram->plot.table'],
      ),
    );
    await session.run();
    const [plot] = session.outputs('plot', 'plot') as TableFrame[];
    // counted here: 16 bins of width 0.5 over [-4, 4], the last one closed
    const counts = new Array<number>(16).fill(0);
    for (const v of synthesize('noise', 64, 64, 5, 0)) if (v >= -4 && v <= 4) counts[Math.min(15, Math.floor((v + 4) / 0.5))]++;
    expect(Array.from(plot.table.getChild('bin_start')!.toArray() as Float64Array)).toEqual(Array.from({ length: 16 }, (_, i) => -4 + i * 0.5));
    expect(Array.from(plot.table.getChild('count')!.toArray() as Float64Array)).toEqual(counts);
  });
});
