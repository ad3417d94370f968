import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { percentileInto, zscoreInto } from './normalize.js';

@operator({
  name: 'normalize',
  version: '1.0.0',
  description:
    'Intensity normalization. zscore: (x − mean) / std (population std; a constant image becomes all zeros). ' +
    'percentile: the low and high percentiles (numpy linear interpolation) map to 0 and 1, optionally clipped. ' +
    'NaN is ignored by the statistics and stays NaN. Output float32, same shape.',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: { image: { type: 'ndarray', sameAs: 'image', description: 'normalized float32 array, same shape as the input' } },
  params: {
    mode: { type: 'string', enum: ['zscore', 'percentile'], default: 'zscore', description: 'zero mean and unit std, or a percentile range mapped to [0, 1]' },
    low: { type: 'number', minimum: 0, maximum: 100, default: 1, units: '%', description: 'percentile mode: percentile mapped to 0' },
    high: { type: 'number', minimum: 0, maximum: 100, default: 99, units: '%', description: 'percentile mode: percentile mapped to 1 (greater than low)' },
    clip: { type: 'boolean', default: true, description: 'percentile mode: clip the result to [0, 1]' },
  },
  display: { category: 'intensity' },
})
export class Normalize {
  process(
    { image }: { image: NDArray },
    { mode, low, high, clip }: { mode: 'zscore' | 'percentile'; low: number; high: number; clip: boolean },
    ctx: ProcessContext,
  ) {
    const out = ctx.alloc('image', 'float32', image.shape);
    const dst = out.data as Float32Array;
    if (mode === 'zscore') zscoreInto(image.values(), dst);
    else percentileInto(image.values(), dst, low, high, clip);
    return { image: out };
  }
}
