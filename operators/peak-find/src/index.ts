import { tableFromArrays } from 'apache-arrow';
import { frameMismatch, operator, table, type NDArray } from '@emflow/sdk';
import type { ThresholdMode } from './maxima.js';
import { findPeaks } from './peaks.js';

@operator({
  name: 'peak-find',
  version: '1.0.0',
  description:
    'Finds bright peaks (atom columns, lattice spots): pixels that are the maximum of their (2·minDistance+1)² window ' +
    '(window clipped at the edges; among equal pixels the first in raster order wins) and exceed the threshold, ' +
    'refined to sub-pixel position by a least-squares fit of an isotropic 2-D Gaussian plus constant. ' +
    'Output sorted by height, highest first.',
  inputs: { image: { type: 'image2d', description: 'image of any dtype; NaN pixels are never peaks and are left out of the fits' } },
  outputs: {
    peaks: {
      type: 'table',
      columns: ['x', 'y', 'height', 'sigma'],
      description:
        'float64 columns: x (column) and y (row) in px with pixel centres at integers; height: fitted amplitude + offset ' +
        '(pixel value if not refined); sigma: fitted Gaussian sigma in px, NaN where the fit failed (x, y then the integer maximum)',
    },
  },
  params: {
    threshold: {
      type: 'number',
      default: 3,
      description: "peaks must be higher than this: an intensity (thresholdMode 'absolute') or k in mean + k·std of the finite pixels ('sigma')",
    },
    thresholdMode: { type: 'string', enum: ['sigma', 'absolute'], default: 'sigma', description: 'how threshold is read' },
    minDistance: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 5,
      units: 'px',
      description: 'a peak must be the maximum within this many pixels in x and y (like skimage peak_local_max min_distance)',
    },
    excludeBorder: {
      type: 'integer',
      minimum: 0,
      maximum: 10000,
      optional: true,
      units: 'px',
      description: 'peaks closer than this to an image edge are dropped; default: minDistance',
    },
    fitRadius: {
      type: 'integer',
      minimum: 0,
      maximum: 50,
      default: 3,
      units: 'px',
      description: 'the Gaussian is fitted to the (2·fitRadius+1)² pixels around each maximum (best ≥ 2× the peak sigma); 0: no refinement',
    },
    maxPeaks: {
      type: 'integer',
      minimum: 1,
      maximum: 10_000_000,
      default: 10000,
      description: 'only the highest maxima (by pixel value) are refined and reported',
    },
  },
  display: { category: 'measure' },
})
export class PeakFind {
  process(
    { image }: { image: NDArray },
    params: { threshold: number; thresholdMode: ThresholdMode; minDistance: number; excludeBorder?: number; fitRadius: number; maxPeaks: number },
  ) {
    const mismatch = frameMismatch(image, 'image2d');
    if (mismatch) throw new TypeError(`peak-find: input "image": ${mismatch}`);
    const [height, width] = image.shape;
    const peaks = findPeaks(image.values(), width, height, { ...params, excludeBorder: params.excludeBorder ?? params.minDistance });
    return { peaks: table(tableFromArrays({ x: peaks.x, y: peaks.y, height: peaks.height, sigma: peaks.sigma })) };
  }
}
