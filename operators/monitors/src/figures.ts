/** Figures of one frame: intensity statistics and a sharpness measure, in float64. */

export interface Intensity {
  mean: number;
  /** population standard deviation (ddof = 0, numpy's default) */
  std: number;
  min: number;
  max: number;
  /** Σ (x − mean)², what a running (pooled) variance merges */
  squaredDeviations: number;
}

const NOT_A_NUMBER: Intensity = { mean: NaN, std: NaN, min: NaN, max: NaN, squaredDeviations: NaN };

/**
 * mean, std, min and max of the elements, as numpy's `x.astype(float64)` reductions give them. A NaN element
 * makes every figure NaN (numpy's non-nan* reductions do the same): a monitor must not hide bad pixels.
 */
export function intensity(values: ArrayLike<number>): Intensity {
  const n = values.length;
  if (n === 0) return NOT_A_NUMBER;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) return NOT_A_NUMBER;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  // two passes: Σ(x − mean)² does not cancel on frames with a large offset, as Σx² − n·mean² would
  const mean = sum / n;
  let squaredDeviations = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    squaredDeviations += d * d;
  }
  return { mean, std: Math.sqrt(squaredDeviations / n), min, max, squaredDeviations };
}

/**
 * Sharpness: the variance of the Laplacian (Pech-Pacheco et al., ICPR 2000), the focus measure of the
 * OpenCV recipe `cv2.Laplacian(x, CV_64F).var()`, on interior pixels only:
 *
 *   L[y, x] = x[y−1, x] + x[y+1, x] + x[y, x−1] + x[y, x+1] − 4·x[y, x],   1 ≤ y ≤ H−2, 1 ≤ x ≤ W−2
 *   sharpness = mean((L − mean L)²)   over those (H−2)(W−2) pixels
 *
 * which is `scipy.ndimage.laplace(x)[1:-1, 1:-1].var()`. In squared intensity units: it grows with contrast
 * as well as with fine detail (normalize the stream upstream to compare frames of different dose). NaN for
 * an image smaller than 3×3.
 */
export function laplacianVariance(values: ArrayLike<number>, height: number, width: number): number {
  if (height < 3 || width < 3) return NaN;
  const count = (height - 2) * (width - 2);
  // two passes over L computed on the fly (no array of L: a 4096² frame would need 134 MB for it)
  const mean = sumOverLaplacian(values, height, width, (l) => l) / count;
  return sumOverLaplacian(values, height, width, (l) => (l - mean) * (l - mean)) / count;
}

/** Σ f(L[y, x]) over the interior pixels. */
function sumOverLaplacian(values: ArrayLike<number>, height: number, width: number, f: (l: number) => number): number {
  let sum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let i = y * width + 1, end = (y + 1) * width - 1; i < end; i++) {
      sum += f(values[i - width] + values[i + width] + values[i - 1] + values[i + 1] - 4 * values[i]);
    }
  }
  return sum;
}
