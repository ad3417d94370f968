/**
 * Equal-width histogram identical to `numpy.histogram(x[~isnan(x)], bins, range)` (numpy 2),
 * edges and counts alike, including numpy's precision rules:
 *
 * - float32 data gets float32 bin edges and is binned in float32, as numpy does; other dtypes in float64.
 * - With the range taken from the data, numpy's edges and bin indices are computed from float32
 *   scalars in float32 arithmetic; with a range given as numbers (the params, or [0, 1] for an image
 *   without values), the edges are computed in float64 and the index division is float64 too.
 * - Values outside [min, max] are dropped; every bin is half-open [start, end) except the last,
 *   which also holds values equal to max.
 *
 * float16 frames arrive widened to float32 and are binned as float32 (numpy would use float16 edges).
 */

export const MAX_BINS = 65536;

export interface HistogramOptions {
  bins: number;
  /** Lower edge of the first bin; default the smallest non-NaN value. */
  min?: number;
  /** Upper edge of the last bin; default the largest non-NaN value. */
  max?: number;
}

export interface Histogram {
  /** bins + 1 edges, as numpy returns them (float32 values for float32 data). */
  edges: Float64Array;
  counts: Float64Array;
}

/** Where numpy's outer edges come from decides the arithmetic it bins in. */
interface OuterEdges {
  first: number;
  last: number;
  /** Both edges are the data's own min and max (numpy scalars of the data's dtype, not Python numbers). */
  fromData: boolean;
}

export function histogram(src: ArrayLike<number>, { bins, min, max }: HistogramOptions): Histogram {
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) throw new RangeError(`histogram: bins (${bins}) must be an integer from 1 to ${MAX_BINS}`);
  const float32 = src instanceof Float32Array;
  const outer = outerEdges(src, min, max, float32);
  const edges = binEdges(outer, bins, float32);
  return { edges, counts: countValues(src, outer, edges, float32) };
}

/** numpy's _get_outer_edges with the range (min ?? data min, max ?? data max). */
function outerEdges(src: ArrayLike<number>, min: number | undefined, max: number | undefined, float32: boolean): OuterEdges {
  let first: number;
  let last: number;
  let firstLabel = `min (${min})`;
  let lastLabel = `max (${max})`;
  if (min !== undefined && max !== undefined) {
    first = min;
    last = max;
  } else {
    const extent = nanExtent(src);
    if (extent === undefined) {
      if (min !== undefined || max !== undefined) {
        throw new RangeError(`histogram: ${min === undefined ? 'min' : 'max'} is not set and the image has no non-NaN values to take it from`);
      }
      // numpy's range for an empty array, as Python numbers.
      return { first: 0, last: 1, fromData: false };
    }
    first = min ?? extent.min;
    last = max ?? extent.max;
    if (min === undefined) firstLabel = `min (${first}, the data minimum)`;
    if (max === undefined) lastLabel = `max (${last}, the data maximum)`;
  }
  if (!Number.isFinite(first) || !Number.isFinite(last)) throw new RangeError(`histogram: ${firstLabel} and ${lastLabel} must both be finite`);
  if (first > last) throw new RangeError(`histogram: ${firstLabel} must not exceed ${lastLabel}`);
  const fromData = min === undefined && max === undefined;
  if (first === last) {
    // numpy widens an empty range by half a unit each way, in the edges' own precision.
    const scalarRounding = fromData && float32;
    const widenedFirst = scalarRounding ? Math.fround(first - 0.5) : first - 0.5;
    const widenedLast = scalarRounding ? Math.fround(last + 0.5) : last + 0.5;
    if (widenedFirst === widenedLast) throw new RangeError(`histogram: ${firstLabel} equals ${lastLabel} and is too large to widen into a range`);
    return { first: widenedFirst, last: widenedLast, fromData };
  }
  return { first, last, fromData };
}

/** Smallest and largest non-NaN value, or undefined when there is none. */
function nanExtent(src: ArrayLike<number>): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  let seen = false;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (x !== x) continue;
    seen = true;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return seen ? { min, max } : undefined;
}

/** numpy.linspace(first, last, bins + 1), in float32 when the edges are float32 scalars, cast to the bin dtype. */
function binEdges({ first, last, fromData }: OuterEdges, bins: number, float32: boolean): Float64Array {
  const inFloat32 = float32 && fromData;
  const delta = inFloat32 ? Math.fround(last - first) : last - first;
  const step = inFloat32 ? Math.fround(delta / bins) : delta / bins;
  const edges = new Float64Array(bins + 1);
  for (let k = 0; k < bins; k++) {
    // linspace divides first when the step underflows to 0 (numpy gh-5437)
    let y = step === 0 ? (inFloat32 ? Math.fround(Math.fround(k / bins) * delta) : (k / bins) * delta) : k * step;
    y = inFloat32 ? Math.fround(Math.fround(y) + first) : y + first;
    edges[k] = float32 ? Math.fround(y) : y;
  }
  edges[bins] = float32 ? Math.fround(last) : last;
  return edges;
}

/** numpy's fast equal-width path: index from the scaled offset, then corrected against the edges. */
function countValues(src: ArrayLike<number>, { first, last, fromData }: OuterEdges, edges: Float64Array, float32: boolean): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  // float32 data meets Python-number edges in float32 (NEP 50), so compare and subtract against them rounded.
  const lowest = float32 ? Math.fround(first) : first;
  const highest = float32 ? Math.fround(last) : last;
  // float32 scalar edges keep the division in float32; a Python-number range makes it float64.
  const inFloat32 = float32 && fromData;
  const width = inFloat32 ? Math.fround(last - first) : last - first;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    // Outside the range, or NaN.
    if (!(x >= lowest && x <= highest)) continue;
    const offset = float32 ? Math.fround(x - lowest) : x - lowest;
    const scaled = inFloat32 ? Math.fround(Math.fround(offset / width) * bins) : (offset / width) * bins;
    let bin = Math.trunc(scaled);
    if (bin === bins) bin--;
    // The scaled index can be off by one within an ulp of an edge; the edges decide.
    if (x < edges[bin]) bin--;
    else if (bin !== bins - 1 && x >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return counts;
}
