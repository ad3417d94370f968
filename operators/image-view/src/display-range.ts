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

/** Buckets of the counting pass: the exact selection then looks only at the few values in the needed buckets. */
const BUCKETS = 1 << 16;

/**
 * The `low` and `high` percentiles (0–100) of the finite values, as numpy.percentile computes them on a float64
 * copy (method 'linear'); nulls when there is no finite value. No sort and no copy of the image: the values are
 * counted into buckets by value (a monotonic map, so ranks keep their order), and only the buckets holding the
 * needed ranks are copied and searched exactly. Three passes over the pixels: ~10× faster than selecting in a
 * copy of a 2048² image, which a slider move would wait for.
 */
export function finitePercentiles(src: ArrayLike<number>, low: number, high: number): [number, number] | [null, null] {
  const { count: n, min, max } = finiteCountAndExtent(src);
  if (n === 0) return [null, null];
  const lower = interpolationPoint(n, low);
  const upper = interpolationPoint(n, high);
  const ranks = [...new Set([lower.below, lower.above, upper.below, upper.above])];
  const scale = max > min ? BUCKETS / (max - min) : 0;
  const bucketOf = (x: number) => Math.min(BUCKETS - 1, Math.floor((x - min) * scale));
  const counts = new Uint32Array(BUCKETS);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (x - x === 0) counts[bucketOf(x)]++;
  }
  // for each rank: its bucket and its rank among that bucket's values
  const located = new Map<number, { bucket: number; within: number }>();
  const sorted = [...ranks].sort((a, b) => a - b);
  let bucket = 0;
  let before = 0;
  for (const rank of sorted) {
    while (before + counts[bucket] <= rank) before += counts[bucket++];
    located.set(rank, { bucket, within: rank - before });
  }
  // the values of the (at most four) needed buckets, found through a per-bucket index: no lookup by key per pixel
  const member = new Int8Array(BUCKETS).fill(-1);
  const values: Float64Array[] = [];
  for (const { bucket: b } of located.values()) {
    if (member[b] < 0) {
      member[b] = values.length;
      values.push(new Float64Array(counts[b]));
    }
  }
  const filled = new Uint32Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (!(x - x === 0)) continue;
    const m = member[bucketOf(x)];
    if (m >= 0) values[m][filled[m]++] = x;
  }
  const valueAt = (rank: number) => {
    const { bucket: b, within } = located.get(rank)!;
    const bucketValues = values[member[b]];
    selectInPlace(bucketValues, within, 0, bucketValues.length);
    return bucketValues[within];
  };
  return [lerp(valueAt(lower.below), valueAt(lower.above), lower.gamma), lerp(valueAt(upper.below), valueAt(upper.above), upper.gamma)];
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

/** numpy's 'linear' virtual index (n − 1)·(percent / 100), its neighbours and the weight of the upper one. */
function interpolationPoint(n: number, percent: number): { below: number; above: number; gamma: number } {
  const virtualIndex = (n - 1) * (percent / 100);
  const floor = Math.floor(virtualIndex);
  const below = Math.min(floor, n - 1);
  return { below, above: Math.min(below + 1, n - 1), gamma: virtualIndex - floor };
}

/** numpy's _lerp: interpolate from the nearer end, which keeps the result monotonic in gamma. */
function lerp(a: number, b: number, gamma: number): number {
  const difference = b - a;
  return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
}

/**
 * Rearrange `values[from, to)` so that `values[k]` holds the value a full sort would put there, with no larger
 * value before it and no smaller one after it (Hoare's quickselect, median-of-three pivot). The range must
 * already hold exactly the order statistics `from`…`to − 1`.
 */
function selectInPlace(values: Float64Array, k: number, from: number, to: number): void {
  let left = from;
  let right = to - 1;
  while (right > left) {
    const first = values[left];
    const middle = values[(left + right) >>> 1];
    const last = values[right];
    const pivot = Math.max(Math.min(first, middle), Math.min(Math.max(first, middle), last));
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i++] = values[j];
        values[j--] = swap;
      }
    }
    // Now values[left..j] ≤ pivot ≤ values[i..right], and anything between equals the pivot.
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}
