/**
 * Intensity normalization. Statistics ignore NaN (numpy's nanmean/nanstd/nanpercentile) and are
 * computed in float64; NaN pixels stay NaN in the output.
 */
import { percentiles } from '@emflow/sdk';

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
 * The `low` and `high` percentiles (0–100, `low` ≤ `high`) of the non-NaN values, as numpy.nanpercentile computes
 * them (method 'linear', bit for bit); NaN when there are no values.
 */
export function nanPercentiles(src: ArrayLike<number>, low: number, high: number): [number, number] {
  const [lower, upper] = percentiles(src, [low, high]);
  return [lower, upper];
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
