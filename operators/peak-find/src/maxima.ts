/**
 * Integer local maxima, as skimage.feature.peak_local_max(min_distance=d, exclude_border=b,
 * threshold_abs=t) finds them: a pixel is a peak when it is the largest pixel of the
 * (2d+1)×(2d+1) window around it (the window clipped at the image edges), exceeds the threshold
 * and lies at least b pixels from every edge.
 */

export type ThresholdMode = 'absolute' | 'sigma';

export interface MaximaOptions {
  /** Half-width of the window a peak must dominate, px (≥ 1). */
  minDistance: number;
  /** Peaks closer than this many pixels to an edge are dropped (≥ 0). */
  excludeBorder: number;
  /** Peaks must be strictly higher than this. */
  threshold: number;
}

/**
 * The intensity a peak must exceed: `threshold` itself ('absolute'), or mean + threshold·std of the
 * finite pixels ('sigma'; population std). No finite pixel gives NaN, which nothing exceeds.
 */
export function peakThreshold(src: ArrayLike<number>, mode: ThresholdMode, threshold: number): number {
  if (!Number.isFinite(threshold)) throw new RangeError(`peak-find: param "threshold" = ${threshold}; expected a finite number`);
  if (mode === 'absolute') return threshold;
  if (mode !== 'sigma') throw new RangeError(`peak-find: param "thresholdMode" = ${String(mode)}; expected 'absolute' or 'sigma'`);
  let count = 0;
  let sum = 0;
  for (let i = 0; i < src.length; i++) {
    if (Number.isFinite(src[i])) {
      count++;
      sum += src[i];
    }
  }
  const mean = sum / count;
  // Second pass around the mean: E[x²] − E[x]² cancels badly on images with a large offset.
  let squares = 0;
  for (let i = 0; i < src.length; i++) if (Number.isFinite(src[i])) squares += (src[i] - mean) ** 2;
  return mean + threshold * Math.sqrt(squares / count);
}

/**
 * Row-major indices of the local maxima of the `width`-wide image, highest first (equal heights in
 * raster order). Ties inside a window go to the pixel that comes first in raster order, so a
 * plateau yields one peak, and a window without any lower pixel yields none. Non-finite pixels are
 * never peaks and never hide one.
 */
export function findLocalMaxima(src: ArrayLike<number>, width: number, height: number, options: MaximaOptions): number[] {
  const { minDistance, excludeBorder, threshold } = options;
  if (!Number.isInteger(minDistance) || minDistance < 1) throw new RangeError(`peak-find: param "minDistance" = ${minDistance}; expected an integer ≥ 1`);
  if (!Number.isInteger(excludeBorder) || excludeBorder < 0) throw new RangeError(`peak-find: param "excludeBorder" = ${excludeBorder}; expected an integer ≥ 0`);
  const peaks: number[] = [];
  for (let y = excludeBorder; y < height - excludeBorder; y++) {
    for (let x = excludeBorder; x < width - excludeBorder; x++) {
      const value = src[y * width + x];
      // `>` is false for NaN; +Infinity is no measurable peak.
      if (!(value > threshold) || value === Infinity) continue;
      // Most pixels lose to a direct neighbour, so the 3×3 test spares them the full window.
      if (windowVerdict(src, width, height, x, y, 1) !== 'beaten' && windowVerdict(src, width, height, x, y, minDistance) === 'peak') {
        peaks.push(y * width + x);
      }
    }
  }
  return peaks.sort((a, b) => src[b] - src[a] || a - b);
}

/**
 * How pixel (x, y) compares with the pixels within `radius` (Chebyshev): 'beaten' when one is higher,
 * or equal and earlier in raster order; 'flat' when none is lower either (skimage likewise finds no
 * peak in a flat image); otherwise 'peak'. NaN neighbours compare as neither.
 */
function windowVerdict(src: ArrayLike<number>, width: number, height: number, x: number, y: number, radius: number): 'beaten' | 'flat' | 'peak' {
  const index = y * width + x;
  const value = src[index];
  const x0 = Math.max(0, x - radius);
  const x1 = Math.min(width - 1, x + radius);
  let rises = false;
  for (let yy = Math.max(0, y - radius); yy <= Math.min(height - 1, y + radius); yy++) {
    const row = yy * width;
    for (let q = row + x0; q <= row + x1; q++) {
      const other = src[q];
      if (other > value || (other === value && q < index)) return 'beaten';
      if (other < value) rises = true;
    }
  }
  return rises ? 'peak' : 'flat';
}
