/**
 * Separable 2-D Gaussian filter that reproduces
 * `scipy.ndimage.gaussian_filter(x, sigma, mode='reflect', truncate=4.0)`.
 */

/** scipy's default `truncate`: the kernel extends to int(4·sigma + 0.5) pixels. */
const TRUNCATE = 4.0;

/**
 * Blur a row-major `width`×`height` image with an isotropic Gaussian of standard deviation
 * `sigma` pixels. Accumulates in float64 and writes float32 into `dst` (allocated when omitted).
 * `dst` may be the same array as `src`. `sigma === 0` returns a copy.
 */
export function gaussianFilter2d(
  src: ArrayLike<number>,
  width: number,
  height: number,
  sigma: number,
  dst?: Float32Array,
): Float32Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`gaussianFilter2d: width and height must be positive integers, got ${width}×${height}`);
  }
  const size = width * height;
  if (src.length !== size) {
    throw new RangeError(`gaussianFilter2d: src length ${src.length} does not match ${width}×${height} = ${size}`);
  }
  if (!(sigma >= 0) || sigma === Infinity) {
    throw new RangeError(`gaussianFilter2d: sigma must be finite and >= 0, got ${sigma}`);
  }
  const out = dst ?? new Float32Array(size);
  if (out.length !== size) {
    throw new RangeError(`gaussianFilter2d: dst length ${out.length} does not match ${width}×${height} = ${size}`);
  }
  if (sigma === 0) {
    for (let i = 0; i < size; i++) out[i] = src[i];
    return out;
  }

  const input = readableCopy(src, out);
  const radius = Math.trunc(TRUNCATE * sigma + 0.5);
  const weights = halfKernel(sigma, radius);
  const centreWeight = weights[0];

  // Hot loops index per-row views from 0, which V8 compiles markedly tighter than offset indexing.
  const inputRows: NumericArray[] = [];
  for (let y = 0; y < height; y++) inputRows.push(input.subarray(y * width, (y + 1) * width));
  // Source image row for each padded row index t (image row t − radius).
  const rowSource = new Int32Array(height + 2 * radius);
  for (let t = 0; t < rowSource.length; t++) rowSource[t] = reflectIndex(t - radius, height);

  // The row buffer holds one vertically filtered row with `radius` reflected samples on each side.
  const row = new Float64Array(width + 2 * radius);
  const rowMiddle = row.subarray(radius, radius + width);
  const padSource = new Int32Array(2 * radius);
  for (let t = 0; t < radius; t++) {
    padSource[t] = radius + reflectIndex(t - radius, width);
    padSource[radius + t] = radius + reflectIndex(width + t, width);
  }

  for (let y = 0; y < height; y++) {
    // Vertical pass, one tap pair at a time so the inner loop streams along contiguous rows.
    const centre = inputRows[rowSource[y + radius]];
    for (let x = 0; x < width; x++) rowMiddle[x] = centreWeight * centre[x];
    for (let k = 1; k <= radius; k++) {
      const weight = weights[k];
      const above = inputRows[rowSource[y + radius - k]];
      const below = inputRows[rowSource[y + radius + k]];
      for (let x = 0; x < width; x++) rowMiddle[x] += weight * (above[x] + below[x]);
    }
    for (let t = 0; t < radius; t++) {
      row[t] = row[padSource[t]];
      row[radius + width + t] = row[padSource[radius + t]];
    }

    // Horizontal pass over the padded row.
    const outRow = out.subarray(y * width, (y + 1) * width);
    for (let x = 0; x < width; x++) {
      const c = x + radius;
      let acc = centreWeight * row[c];
      for (let k = 1; k <= radius; k++) acc += weights[k] * (row[c - k] + row[c + k]);
      outRow[x] = acc;
    }
  }
  return out;
}

type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/**
 * A typed array (for row views) holding `src` exactly. Plain arrays are copied, and so is an input
 * sharing memory with `out`, because output row y is written while input rows up to y + radius
 * are still needed.
 */
function readableCopy(src: ArrayLike<number>, out: Float32Array): NumericArray {
  if (!ArrayBuffer.isView(src)) return Float64Array.from(src);
  const typed = src as NumericArray;
  if (typed === out) return out.slice();
  return typed.buffer === out.buffer ? Float64Array.from(typed) : typed;
}

/** Normalised weights w[0..radius] of the symmetric kernel, computed as scipy's _gaussian_kernel1d. */
function halfKernel(sigma: number, radius: number): Float64Array {
  const weights = new Float64Array(radius + 1);
  const scale = -0.5 / (sigma * sigma);
  let total = 0;
  for (let k = 0; k <= radius; k++) {
    weights[k] = Math.exp(scale * k * k);
    total += k === 0 ? weights[k] : 2 * weights[k];
  }
  for (let k = 0; k <= radius; k++) weights[k] /= total;
  return weights;
}

/**
 * scipy 'reflect' (half-sample symmetric, `d c b a | a b c d | d c b a`) repeats with period 2n,
 * which also covers kernels wider than the image.
 */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  const p = ((i % period) + period) % period;
  return p < n ? p : period - 1 - p;
}
