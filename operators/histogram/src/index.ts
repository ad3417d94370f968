import { operator, table, type NDArray } from '@emflow/sdk';
import { tableFromArrays } from 'apache-arrow';
import { histogram, MAX_BINS } from './histogram.js';

@operator({
  name: 'histogram',
  version: '1.0.0',
  description:
    'Equal-width histogram of the non-NaN values, identical to numpy.histogram(x[~isnan(x)], bins, (min, max)): ' +
    'bins are [start, end) except the last, which includes max; values outside [min, max] are not counted. ' +
    'An unset min or max is taken from the data; without values the range is [0, 1] as in numpy.',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: {
    histogram: { type: 'table', columns: ['bin_start', 'bin_end', 'count'], description: 'one row per bin: its edges and the number of values in it (float64)' },
  },
  params: {
    bins: { type: 'integer', minimum: 1, maximum: MAX_BINS, default: 256, description: 'number of equal-width bins' },
    min: { type: 'number', optional: true, description: 'lower edge of the first bin, in the intensity units of the input (default: data minimum)' },
    max: { type: 'number', optional: true, description: 'upper edge of the last bin, in the intensity units of the input (default: data maximum)' },
  },
  display: { category: 'measure' },
})
export class Histogram {
  process({ image }: { image: NDArray }, params: { bins: number; min?: number; max?: number }) {
    const { edges, counts } = histogram(image.values(), params);
    const bins = counts.length;
    return { histogram: table(tableFromArrays({ bin_start: edges.subarray(0, bins), bin_end: edges.subarray(1), count: counts })) };
  }
}
