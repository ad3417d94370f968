// PNG: a grayscale 8- or 16-bit picture of an image of any dtype, through a linear contrast window (encoded
// with fast-png), and the usual ways of choosing that window: the full range or percentiles of the data.
import { encode } from 'fast-png';
import type { NDArray } from '@emflow/sdk';

/** Data values mapped to black (`low`) and to white (`high`). */
export interface ContrastLimits {
  low: number;
  high: number;
}

/** The full range of the finite values, or the `low`–`high` percentiles (0–100) of them. */
export type ContrastMode = { mode: 'minmax' } | { mode: 'percentile'; low: number; high: number };

export interface PngOptions extends ContrastLimits {
  bitDepth: 8 | 16;
}

/** The finite values (NaN and ±Infinity left out) in ascending order. */
function sortedFinite(values: ArrayLike<number>): Float64Array {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) count++;
  const finite = new Float64Array(count);
  let next = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite[next++] = values[i];
  return finite.sort();
}

/**
 * NumPy's default ("linear") percentile of sorted values, including its interpolation from the nearer end
 * (b − (b − a)(1 − t) for t ≥ ½), so that limits match np.percentile to the last bit.
 */
function percentileOfSorted(sorted: Float64Array, percent: number): number {
  const position = (sorted.length - 1) * (percent / 100);
  const below = Math.floor(position);
  const a = sorted[below];
  const b = sorted[Math.min(below + 1, sorted.length - 1)];
  const t = position - below;
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/**
 * Contrast limits of image values, NaN and ±Infinity ignored. An image without finite values gets { 0, 0 };
 * equal limits are valid (encodePng then maps values above them to white, the rest to black).
 */
export function contrastLimits(values: ArrayLike<number>, mode: ContrastMode): ContrastLimits {
  if (mode.mode === 'minmax') {
    let low = Infinity;
    let high = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (Number.isFinite(value)) {
        if (value < low) low = value;
        if (value > high) high = value;
      }
    }
    return low <= high ? { low, high } : { low: 0, high: 0 };
  }
  const { low, high } = mode;
  if (!(low >= 0 && low <= high && high <= 100)) throw new RangeError(`contrastLimits: percentiles must satisfy 0 ≤ low ≤ high ≤ 100, got low ${low}, high ${high}`);
  const sorted = sortedFinite(values);
  if (sorted.length === 0) return { low: 0, high: 0 };
  return { low: percentileOfSorted(sorted, low), high: percentileOfSorted(sorted, high) };
}

/**
 * A grayscale PNG of a 2-D image: value v becomes round((v − low) / (high − low) · top), clipped to 0…top
 * (top = 255 or 65535, halves rounded up); NaN becomes 0. With low = high, values above it are white.
 */
export function encodePng(image: NDArray, { low, high, bitDepth }: PngOptions): Uint8Array {
  if (image.rank !== 2) throw new Error(`encodePng: expected a 2-D image, got shape [${image.shape.join(', ')}]`);
  if (bitDepth !== 8 && bitDepth !== 16) throw new RangeError(`encodePng: bitDepth must be 8 or 16, got ${String(bitDepth)}`);
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high)) throw new RangeError(`encodePng: limits must be finite with low ≤ high, got low ${low}, high ${high}`);
  const [height, width] = image.shape;
  const values = image.values();
  const top = bitDepth === 8 ? 255 : 65535;
  const pixels = bitDepth === 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  const range = high - low;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // Every comparison with NaN is false, so NaN lands on 0 in both branches.
    const t = range > 0 ? (value - low) / range : value > low ? 1 : 0;
    pixels[i] = t > 0 ? (t < 1 ? Math.floor(t * top + 0.5) : top) : 0;
  }
  return encode({ width, height, data: pixels, depth: bitDepth, channels: 1 });
}
