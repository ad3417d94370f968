/** Whole-frame summary statistics, accumulated in float64. */

export interface FrameStats {
  mean: number;
  /** Population standard deviation (ddof = 0, numpy's default). */
  std: number;
  min: number;
  max: number;
  sum: number;
}

/**
 * Summary statistics of `data`, matching numpy's `mean/std/min/max/sum` with `dtype=float64`.
 *
 * NaN policy: a NaN anywhere makes every field NaN, as each of numpy's (non-nan*) reductions does;
 * a frame statistic that silently skipped bad pixels would hide them. ±Infinity follows IEEE
 * arithmetic like numpy (e.g. mean Infinity, std NaN).
 */
export function computeStats(data: ArrayLike<number>): FrameStats {
  const n = data.length;
  if (n === 0) throw new RangeError('stats: empty frame (0 elements)');

  // Pass 1: extrema and a Neumaier-compensated sum (error independent of n, unlike a plain loop).
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumCompensation = 0;
  for (let i = 0; i < n; i++) {
    const x = data[i];
    if (x !== x) return { mean: NaN, std: NaN, min: NaN, max: NaN, sum: NaN };
    if (x < min) min = x;
    if (x > max) max = x;
    const t = sum + x;
    sumCompensation += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  // Once the running sum is infinite the compensation is NaN (∞ − ∞) and must be ignored.
  const total = Number.isFinite(sum) ? sum + sumCompensation : sum;
  // Rounding can put the mean a hair outside [min, max]; clamping makes a constant frame's mean
  // exactly its value, and so its std exactly 0.
  const mean = Math.min(max, Math.max(min, total / n));

  // Pass 2: squared deviations from the mean, avoiding the cancellation of E[x²] − E[x]²
  // on frames with a large offset.
  let squares = 0;
  let squaresCompensation = 0;
  for (let i = 0; i < n; i++) {
    const d = data[i] - mean;
    const term = d * d;
    const t = squares + term;
    squaresCompensation += squares >= term ? squares - t + term : term - t + squares;
    squares = t;
  }
  const sumSquares = Number.isFinite(squares) ? squares + squaresCompensation : squares;

  return { mean, std: Math.sqrt(sumSquares / n), min, max, sum: total };
}
