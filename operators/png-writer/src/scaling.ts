// The contrast window of one frame from png-writer's params: fixed values, the data range, or percentiles.
import { contrastLimits, type ContrastLimits } from '@emflow/formats';

export type Scaling = 'minmax' | 'percentile' | 'fixed';

/** `low`/`high` are percentiles for "percentile", data values for "fixed", unused for "minmax". Errors name the params. */
export function limitsFor(values: ArrayLike<number>, scaling: Scaling, low: number, high: number): ContrastLimits {
  if (scaling === 'minmax') return contrastLimits(values, { mode: 'minmax' });
  if (scaling === 'fixed') {
    if (!(low <= high)) throw new Error(`scaling "fixed" needs low ≤ high (the data values shown black and white), got low ${low}, high ${high}`);
    return { low, high };
  }
  if (!(low >= 0 && low <= high && high <= 100)) {
    throw new Error(`scaling "percentile" needs percentiles 0 ≤ low ≤ high ≤ 100, got low ${low}, high ${high}`);
  }
  return contrastLimits(values, { mode: 'percentile', low, high });
}
