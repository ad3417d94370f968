/**
 * Intensity normalization. Statistics ignore NaN (numpy's nanmean/nanstd/nanpercentile) and are
 * computed in float64; NaN pixels stay NaN in the output.
 */

/**
 * (x − mean) / std with the population std (ddof = 0). A constant image has no spread to scale
 * by and becomes all zeros; an image with no finite statistics (all NaN) becomes all NaN.
 */
export function zscoreInto(src: ArrayLike<number>, dst: Float32Array): void {
  checkLengths(src, dst);
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (x === x) {
      sum += x;
      count++;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  // The rounded mean of a constant image can miss its value by an ulp, which would leave a tiny
  // std that blows rounding noise up to ±1.
  if (min === max) {
    scaleInto(src, dst, min, 0);
    return;
  }
  const mean = sum / count;
  // Second pass over deviations: E[x²] − E[x]² would cancel catastrophically on offset images.
  let squares = 0;
  for (let i = 0; i < src.length; i++) {
    const d = src[i] - mean;
    if (d === d) squares += d * d;
  }
  scaleInto(src, dst, mean, Math.sqrt(squares / count));
}

/**
 * Map the `low` and `high` percentiles (0–100, numpy's default linear interpolation) to 0 and 1,
 * clipping to [0, 1] when `clip` is set. When both percentiles are equal every value becomes 0.
 */
export function percentileInto(src: ArrayLike<number>, dst: Float32Array, low: number, high: number, clip: boolean): void {
  checkLengths(src, dst);
  checkPercent('low', low);
  checkPercent('high', high);
  if (!(low < high)) throw new RangeError(`normalize: low (${low}) must be less than high (${high})`);
  const [lower, upper] = nanPercentiles(src, low, high);
  scaleInto(src, dst, lower, upper - lower);
  if (!clip) return;
  for (let i = 0; i < dst.length; i++) {
    const v = dst[i];
    // Comparisons are false for NaN, which therefore passes through unclipped.
    if (v < 0) dst[i] = 0;
    else if (v > 1) dst[i] = 1;
  }
}

/**
 * The `low` and `high` percentiles (0–100, `low` ≤ `high`) of the non-NaN values, as
 * numpy.nanpercentile computes them (method 'linear', every step in numpy's operation order, so the
 * results agree to the last bit). NaN when there are no values. Uses selection, not a full sort:
 * O(n) instead of O(n log n) on 16-megapixel frames.
 */
export function nanPercentiles(src: ArrayLike<number>, low: number, high: number): [number, number] {
  const values = nonNaNCopy(src);
  const n = values.length;
  if (n === 0) return [NaN, NaN];
  const lower = interpolationPoint(n, low);
  const upper = interpolationPoint(n, high);
  // Distinct ranks in ascending order: once rank r is in place, values[r + 1, n) holds exactly the
  // order statistics above it, so each selection searches only there.
  const ranks = [...new Set([lower.below, lower.above, upper.below, upper.above])].sort((a, b) => a - b);
  let from = 0;
  for (const rank of ranks) {
    selectInPlace(values, rank, from, n);
    from = rank + 1;
  }
  return [lerp(values[lower.below], values[lower.above], lower.gamma), lerp(values[upper.below], values[upper.above], upper.gamma)];
}

/** numpy's 'linear' virtual index (n − 1)·q, its neighbours and the weight of the upper one. */
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
 * Rearrange `values[from, to)` so that `values[k]` holds the value a full sort would put there,
 * with no larger value before it and no smaller one after it (Hoare's quickselect, median-of-three
 * pivot). The range must already hold exactly the order statistics `from`…`to − 1`.
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

/** The non-NaN values of `src` in a float64 copy that selection may reorder (inputs are read-only). */
function nonNaNCopy(src: ArrayLike<number>): Float64Array {
  let count = 0;
  for (let i = 0; i < src.length; i++) if (src[i] === src[i]) count++;
  const values = new Float64Array(count);
  let next = 0;
  for (let i = 0; i < src.length; i++) if (src[i] === src[i]) values[next++] = src[i];
  return values;
}

/** dst = (src − offset) / spread, or 0 where spread is 0 (NaN stays NaN). */
function scaleInto(src: ArrayLike<number>, dst: Float32Array, offset: number, spread: number): void {
  if (spread === 0) {
    for (let i = 0; i < src.length; i++) dst[i] = src[i] === src[i] ? 0 : NaN;
    return;
  }
  for (let i = 0; i < src.length; i++) dst[i] = (src[i] - offset) / spread;
}

function checkPercent(name: string, value: number): void {
  if (!(value >= 0 && value <= 100)) throw new RangeError(`normalize: ${name} (${value}) must be a percentage between 0 and 100`);
}

function checkLengths(src: ArrayLike<number>, dst: Float32Array): void {
  if (src.length !== dst.length) throw new RangeError(`normalize: dst length ${dst.length} does not equal src length ${src.length}`);
}
