import { json, operator, type NDArray } from '@emflow/sdk';
import { computeStats } from './stats.js';

@operator({
  name: 'stats',
  version: '1.0.0',
  description: 'Per-frame statistics of an array: mean, population std, min, max and sum (float64 accumulation).',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: { stats: { type: 'json', description: '{ mean, std, min, max, sum }' } },
  display: { category: 'measure' },
})
export class Stats {
  process({ image }: { image: NDArray }) {
    return { stats: json(computeStats(image.values())) };
  }
}
