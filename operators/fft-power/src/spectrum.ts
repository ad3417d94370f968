/**
 * Centred log power spectrum (diffractogram) of a square power-of-two box cut from the middle of
 * an image, as EM tools show it: `fftshift(log1p(|FFT2(box)|²))`.
 *
 * log1p rather than log(|F|² + eps): it needs no tuning constant, is 0 where there is no power
 * (the DC bin after mean removal) and equals log|F|² wherever the spectrum has signal.
 */
import FFT from 'fft.js';

export type SpectrumWindow = 'none' | 'hann';

/** Smallest box fft.js can transform. */
const MIN_BOX = 2;
/** Columns transformed together; 16 complex float64 values span four 64-byte cache lines. */
const COLUMN_BLOCK = 16;

export interface Box {
  /** Column and row of the box's top-left pixel. */
  x0: number;
  y0: number;
  /** Edge length, a power of two. */
  size: number;
}

/**
 * The centred square box of `size` pixels (or, for 'auto', the largest power of two that fits),
 * rounding the offsets down when the margin is odd — numpy's `x[y0:y0+n, x0:x0+n]` with
 * `x0 = (width − n) // 2`. A cropped box keeps the image's pixel size, unlike zero padding, which
 * would interpolate the spectrum and add edge streaks.
 */
export function centredBox(width: number, height: number, size: number | 'auto'): Box {
  const fits = Math.min(width, height);
  if (!Number.isInteger(width) || !Number.isInteger(height) || fits < MIN_BOX) {
    throw new RangeError(`fft-power: input "image" is ${height}×${width} pixels; expected at least ${MIN_BOX}×${MIN_BOX}`);
  }
  const n = size === 'auto' ? 2 ** Math.floor(Math.log2(fits)) : size;
  if (!Number.isInteger(n) || n < MIN_BOX || (n & (n - 1)) !== 0) {
    throw new RangeError(`fft-power: param "size" = ${size}; expected 'auto' or a power of two ≥ ${MIN_BOX}`);
  }
  if (n > fits) {
    throw new RangeError(`fft-power: param "size" = ${n} does not fit the ${height}×${width} image; expected 'auto' or a power of two ≤ ${fits}`);
  }
  return { x0: Math.floor((width - n) / 2), y0: Math.floor((height - n) / 2), size: n };
}

/**
 * Periodic ("DFT-even") Hann window, scipy.signal.get_window('hann', n): tapers the box edges to
 * zero so the wrap-around discontinuity does not draw a bright cross through the spectrum.
 */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

export interface SpectrumOptions {
  window: SpectrumWindow;
  /**
   * Subtract the (window-weighted) mean first, so the DC bin is exactly zero instead of a spike
   * that dwarfs everything else. With the Hann window the weighted mean Σwx/Σw is removed, which is
   * what zeroes the DC bin of the windowed box.
   */
  removeMean: boolean;
}

/**
 * Write the size×size centred log power spectrum of `box` of the row-major `width`-wide image `src`
 * into `dst` (float64 arithmetic throughout). Frequency (0, 0) lands at row and column size/2.
 * Non-finite pixels in the box are rejected: a single NaN would turn every bin into NaN.
 */
export function logPowerSpectrum(src: ArrayLike<number>, width: number, box: Box, options: SpectrumOptions, dst: Float32Array | Float64Array): void {
  const { x0, y0, size: n } = box;
  if (options.window !== 'none' && options.window !== 'hann') {
    throw new RangeError(`fft-power: param "window" = ${String(options.window)}; expected 'none' or 'hann'`);
  }
  if (dst.length !== n * n) throw new RangeError(`fft-power: output length ${dst.length} does not match the ${n}×${n} box`);
  const taper = options.window === 'hann' ? hannWindow(n) : new Float64Array(n).fill(1);
  const offset = options.removeMean ? weightedMean(src, width, box, taper) : 0;

  // A real 2-D spectrum is conjugate-symmetric, F(u, v) = conj F(−u, −v), so only columns
  // 0…n/2 of the row transforms are kept and transformed; the other half is mirrored.
  const half = n / 2 + 1;
  const rowSpectra = new Float64Array(2 * n * half);
  const fft = new FFT(n);
  const line = new Float64Array(n);
  const lineSpectrum = new Float64Array(2 * n);
  for (let y = 0; y < n; y++) {
    const start = (y0 + y) * width + x0;
    const wy = taper[y];
    for (let x = 0; x < n; x++) {
      const value = src[start + x];
      if (!Number.isFinite(value)) {
        throw new RangeError(`fft-power: input "image" has ${value} at row ${y0 + y}, column ${x0 + x} inside the FFT box; expected finite pixels`);
      }
      line[x] = (value - offset) * wy * taper[x];
    }
    // realTransform fills bins 0…n/2, which is all that is kept.
    fft.realTransform(lineSpectrum, line);
    rowSpectra.set(lineSpectrum.subarray(0, 2 * half), 2 * half * y);
  }

  // Columns go through the FFT a block at a time: gathering (and scattering) COLUMN_BLOCK adjacent
  // columns per row touches each cache line once instead of once per column, which otherwise
  // dominates the run time of large boxes.
  const shift = n / 2;
  const columns = Array.from({ length: COLUMN_BLOCK }, () => new Float64Array(2 * n));
  const spectra = Array.from({ length: COLUMN_BLOCK }, () => new Float64Array(2 * n));
  for (let u0 = 0; u0 < half; u0 += COLUMN_BLOCK) {
    const block = Math.min(COLUMN_BLOCK, half - u0);
    for (let y = 0; y < n; y++) {
      const from = 2 * (half * y + u0);
      for (let b = 0; b < block; b++) {
        columns[b][2 * y] = rowSpectra[from + 2 * b];
        columns[b][2 * y + 1] = rowSpectra[from + 2 * b + 1];
      }
    }
    for (let b = 0; b < block; b++) fft.transform(spectra[b], columns[b]);
    for (let v = 0; v < n; v++) {
      const row = ((v + shift) % n) * n;
      const mirrorRow = ((n - v + shift) % n) * n;
      for (let b = 0; b < block; b++) {
        const u = u0 + b;
        const re = spectra[b][2 * v];
        const im = spectra[b][2 * v + 1];
        const value = Math.log1p(re * re + im * im);
        dst[row + ((u + shift) % n)] = value;
        // The conjugate twin (−v, −u) of the columns not transformed; shifted, its column is n/2 − u.
        if (u > 0 && u < shift) dst[mirrorRow + shift - u] = value;
      }
    }
  }
}

/** Σ w·x / Σ w over the box, w the separable window. */
function weightedMean(src: ArrayLike<number>, width: number, box: Box, taper: Float64Array): number {
  let sum = 0;
  let weights = 0;
  for (let y = 0; y < box.size; y++) {
    const start = (box.y0 + y) * width + box.x0;
    for (let x = 0; x < box.size; x++) {
      const w = taper[y] * taper[x];
      sum += w * src[start + x];
      weights += w;
    }
  }
  return sum / weights;
}

/** Sampling of the spectrum's axes: the input's pixel size and units, or pixels when it has none. */
export interface AxisMeta {
  pixelSize?: number[];
  units?: string;
}

/**
 * Spectrum bin size: one bin of an n-point transform is 1/(n·pixelSize), so [y, x] pixel sizes in Å
 * give bins in 1/Å. An image without a usable [y, x] pixel size is taken to have 1 px pixels.
 */
export function reciprocalAxes(input: AxisMeta, n: number): { pixelSize: number[]; units: string } {
  const { pixelSize, units } = input;
  const usable = Array.isArray(pixelSize) && pixelSize.length === 2 && pixelSize.every((p) => Number.isFinite(p) && p > 0);
  if (!usable) return { pixelSize: [1 / n, 1 / n], units: '1/px' };
  return { pixelSize: pixelSize.map((p) => 1 / (n * p)), units: `1/${units ?? 'px'}` };
}
