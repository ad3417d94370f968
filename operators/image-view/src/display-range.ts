/**
 * The intensity window an image display maps onto its colormap. Only finite pixels count: NaN and ±Infinity
 * are drawn by the display (as "no value" / saturated) but never decide the window.
 *
 * - percentile: `numpy.percentile(x[numpy.isfinite(x)].astype(numpy.float64), [low, high])` (method 'linear'),
 *   every step in numpy's operation order so that the values agree to the last bit.
 * - minmax: the smallest and largest finite pixel.
 * - manual: the given min and max.
 *
 * An image without a finite pixel has no window: `min` and `max` are then null.
 */
import { percentiles } from '@emflow/sdk';

export const CONTRASTS = ['percentile', 'minmax', 'manual'] as const;
export type Contrast = (typeof CONTRASTS)[number];

export interface ContrastParams {
  contrast: Contrast;
  /** percentile: lower percentile, 0–100 */
  low: number;
  /** percentile: upper percentile, 0–100, greater than low */
  high: number;
  /** manual: value drawn with the first colour */
  min?: number;
  /** manual: value drawn with the last colour, greater than min */
  max?: number;
}

export interface DisplayRange {
  min: number | null;
  max: number | null;
}

/**
 * Throws an Error naming the params when they cannot give a window: manual contrast needs min < max (both set),
 * percentile contrast needs 0 ≤ low < high ≤ 100.
 */
export function checkContrastParams({ contrast, low, high, min, max }: ContrastParams): void {
  if (contrast === 'manual') {
    if (min === undefined || max === undefined) {
      const missing = [min === undefined ? 'min' : undefined, max === undefined ? 'max' : undefined].filter(Boolean).join(' and ');
      throw new Error(`image-view: contrast 'manual' needs the params min and max; ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set`);
    }
    if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error(`image-view: contrast 'manual' needs finite min and max (min ${min}, max ${max})`);
    if (!(min < max)) throw new Error(`image-view: contrast 'manual' needs min < max (min ${min}, max ${max})`);
  } else if (contrast === 'percentile') {
    for (const [name, value] of [['low', low], ['high', high]] as const) {
      if (!(value >= 0 && value <= 100)) throw new Error(`image-view: contrast 'percentile' needs ${name} between 0 and 100 % (${name} ${value})`);
    }
    if (!(low < high)) throw new Error(`image-view: contrast 'percentile' needs low < high (low ${low} %, high ${high} %)`);
  } else {
    const unknown: string = contrast;
    if (unknown !== 'minmax') throw new Error(`image-view: unknown contrast '${unknown}' (expected ${CONTRASTS.join(', ')})`);
  }
}

/** The display window of `src` under these params (checked first: see checkContrastParams). */
export function displayRange(src: ArrayLike<number>, params: ContrastParams): DisplayRange {
  checkContrastParams(params);
  if (params.contrast === 'manual') return { min: params.min!, max: params.max! };
  if (params.contrast === 'minmax') return finiteExtent(src);
  const [min, max] = finitePercentiles(src, params.low, params.high);
  return { min, max };
}

/** Smallest and largest finite value, or nulls when there is none. */
export function finiteExtent(src: ArrayLike<number>): DisplayRange {
  const { count, min, max } = finiteCountAndExtent(src);
  return count ? { min, max } : { min: null, max: null };
}

/**
 * The `low` and `high` percentiles (0–100) of the finite values, as numpy.percentile computes them on a float64
 * copy (method 'linear'); nulls when there is no finite value.
 */
export function finitePercentiles(src: ArrayLike<number>, low: number, high: number): [number, number] | [null, null] {
  const [lower, upper] = percentiles(src, [low, high], 'finite');
  return Number.isNaN(lower) ? [null, null] : [lower, upper];
}

function finiteCountAndExtent(src: ArrayLike<number>): { count: number; min: number; max: number } {
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    // false for NaN and ±Infinity
    if (!(x - x === 0)) continue;
    count++;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { count, min, max };
}
