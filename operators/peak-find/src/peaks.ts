/** Peak finding: integer local maxima, then sub-pixel Gaussian refinement, highest first. */
import { GaussianFitter } from './gaussian-fit.js';
import { findLocalMaxima, peakThreshold, type ThresholdMode } from './maxima.js';

export interface PeakOptions {
  /** Absolute minimum height ('absolute') or number of standard deviations above the mean ('sigma'). */
  threshold: number;
  thresholdMode: ThresholdMode;
  minDistance: number;
  excludeBorder: number;
  /** Half-width of the fitted window, px; 0 keeps the integer maxima. */
  fitRadius: number;
  /** Only this many of the highest maxima (by pixel value) are refined and reported. */
  maxPeaks: number;
}

/** One column per field; x is the column and y the row, pixel centres at integer coordinates. */
export interface PeakTable {
  x: Float64Array;
  y: Float64Array;
  /** Fitted amplitude + offset (the model at its centre), or the pixel value when not refined. */
  height: Float64Array;
  /** Fitted Gaussian sigma, px; NaN when the fit failed or was not asked for. */
  sigma: Float64Array;
}

export function findPeaks(src: ArrayLike<number>, width: number, height: number, options: PeakOptions): PeakTable {
  const { minDistance, excludeBorder, fitRadius, maxPeaks } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`peak-find: input "image" is ${height}×${width} pixels; expected a non-empty image`);
  }
  if (src.length !== width * height) throw new RangeError(`peak-find: input "image" has ${src.length} elements, expected ${height}×${width}`);
  if (!Number.isInteger(maxPeaks) || maxPeaks < 1) throw new RangeError(`peak-find: param "maxPeaks" = ${maxPeaks}; expected an integer ≥ 1`);
  if (!Number.isInteger(fitRadius) || fitRadius < 0) throw new RangeError(`peak-find: param "fitRadius" = ${fitRadius}; expected an integer ≥ 0`);

  const threshold = peakThreshold(src, options.thresholdMode, options.threshold);
  // Capped before fitting, so a noisy image with a low threshold costs at most maxPeaks fits.
  const maxima = findLocalMaxima(src, width, height, { minDistance, excludeBorder, threshold }).slice(0, maxPeaks);
  const fitter = fitRadius > 0 ? new GaussianFitter(fitRadius) : undefined;
  const peaks = maxima.map((index) => {
    const px = index % width;
    const py = (index - px) / width;
    const fit = fitter?.fit(src, width, height, px, py);
    return fit ? { x: fit.x, y: fit.y, height: fit.amplitude + fit.offset, sigma: fit.sigma } : { x: px, y: py, height: src[index], sigma: NaN };
  });
  // Stable: equal heights keep the raster order of their maxima.
  peaks.sort((a, b) => b.height - a.height);
  return {
    x: Float64Array.from(peaks, (p) => p.x),
    y: Float64Array.from(peaks, (p) => p.y),
    height: Float64Array.from(peaks, (p) => p.height),
    sigma: Float64Array.from(peaks, (p) => p.sigma),
  };
}
