/**
 * Drift of a frame against a reference frame, from the peak of their cross-correlation computed with FFTs
 * (fft.js) on a centred square power-of-two box:
 *
 *   a = box(reference) − mean,  b = box(frame) − mean            (n×n, float64, no window)
 *   C = ifft2(conj(fft2(a)) · fft2(b))                            (periodic cross-correlation)
 *   (py, px) = argmax C;  each axis refined by the parabola through the peak and its two (periodic) neighbours:
 *   δ = (C₋ − C₊) / (2·(C₋ − 2·C₀ + C₊))
 *   (dy, dx) = (py, px) wrapped into [−n/2, n/2) + (δy, δx)
 *
 * (dy, dx) is the frame's displacement from the reference in px (rows, columns): frame ≈
 * scipy.ndimage.shift(reference, (dy, dx)), the convention of the drift-estimate operator. The parabola is a
 * monitor's estimate: it draws a sharp peak toward the whole pixel (on a real micrograph, 128 px box, Fourier-shifted
 * copies came out within 0.02 px of whole-pixel shifts and 0.16 px of sub-pixel ones); for precise sub-pixel
 * registration use the drift-estimate operator (upsampled phase cross-correlation).
 */
import FFT from 'fft.js';

/** Largest box edge offered; the biggest power-of-two box that fits is used when the frame is smaller. */
export const DRIFT_BOXES = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] as const;
const MIN_BOX = 4;

/** The box edge for a height×width frame: the requested one, or the largest power of two that fits; 0 for none. */
export function driftBoxSize(height: number, width: number, requested: number): number {
  const fits = Math.min(height, width);
  if (requested <= 0 || fits < MIN_BOX) return 0;
  return Math.min(requested, 2 ** Math.floor(Math.log2(fits)));
}

export interface Drift {
  dy: number;
  dx: number;
}

export class DriftTracker {
  private readonly fft: FFT;
  private readonly n: number;
  private readonly y0: number;
  private readonly x0: number;
  /** conj(fft2(box of the reference)), interleaved re/im, row-major; undefined if the reference box was not finite */
  private readonly reference: Float64Array | undefined;
  private readonly work: Float64Array;
  private readonly line: Float64Array;
  private readonly lineOut: Float64Array;

  constructor(
    reference: ArrayLike<number>,
    readonly height: number,
    readonly width: number,
    box: number,
  ) {
    if (!(box >= MIN_BOX && (box & (box - 1)) === 0 && box <= Math.min(height, width))) {
      throw new RangeError(`drift box ${box} for a ${height}×${width} frame: expected a power of two from ${MIN_BOX} to ${Math.min(height, width)}`);
    }
    this.n = box;
    this.y0 = Math.floor((height - box) / 2);
    this.x0 = Math.floor((width - box) / 2);
    this.fft = new FFT(box);
    this.work = new Float64Array(2 * box * box);
    this.line = new Float64Array(2 * box);
    this.lineOut = new Float64Array(2 * box);
    if (this.load(reference)) {
      this.transform(false);
      this.reference = this.work.slice();
      for (let i = 1; i < this.reference.length; i += 2) this.reference[i] = -this.reference[i];
    }
  }

  /** The drift of `frame` (same shape as the reference); NaN when either box has a non-finite pixel. */
  measure(frame: ArrayLike<number>): Drift {
    const { n, work, reference } = this;
    if (!reference || !this.load(frame)) return { dy: NaN, dx: NaN };
    this.transform(false);
    for (let i = 0; i < work.length; i += 2) {
      const re = work[i] * reference[i] - work[i + 1] * reference[i + 1];
      work[i + 1] = work[i] * reference[i + 1] + work[i + 1] * reference[i];
      work[i] = re;
    }
    this.transform(true);
    let peak = 0;
    for (let i = 1; i < n * n; i++) if (work[2 * i] > work[2 * peak]) peak = i;
    const py = Math.floor(peak / n);
    const px = peak % n;
    const at = (y: number, x: number) => work[2 * (((y + n) % n) * n + ((x + n) % n))];
    const c0 = at(py, px);
    return {
      dy: wrap(py, n) + vertex(at(py - 1, px), c0, at(py + 1, px)),
      dx: wrap(px, n) + vertex(at(py, px - 1), c0, at(py, px + 1)),
    };
  }

  /** The mean-free box of `values` into `work` as complex numbers; false if it has a non-finite pixel. */
  private load(values: ArrayLike<number>): boolean {
    const { n, work } = this;
    let sum = 0;
    for (let y = 0; y < n; y++) {
      const start = (this.y0 + y) * this.width + this.x0;
      for (let x = 0; x < n; x++) {
        const v = values[start + x];
        if (!Number.isFinite(v)) return false;
        work[2 * (y * n + x)] = v;
        work[2 * (y * n + x) + 1] = 0;
        sum += v;
      }
    }
    const mean = sum / (n * n);
    for (let i = 0; i < work.length; i += 2) work[i] -= mean;
    return true;
  }

  /** In-place 2-D FFT of `work` (rows, then columns); the inverse is scaled by 1/n per axis, as fft.js does. */
  private transform(inverse: boolean): void {
    const { n, work, line, lineOut, fft } = this;
    for (let axis = 0; axis < 2; axis++) {
      // rows: element (i, j) at 2(i·n + j); columns: at 2(j·n + i)
      const [outer, inner] = axis === 0 ? [2 * n, 2] : [2, 2 * n];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          line[2 * j] = work[i * outer + j * inner];
          line[2 * j + 1] = work[i * outer + j * inner + 1];
        }
        if (inverse) fft.inverseTransform(lineOut, line);
        else fft.transform(lineOut, line);
        for (let j = 0; j < n; j++) {
          work[i * outer + j * inner] = lineOut[2 * j];
          work[i * outer + j * inner + 1] = lineOut[2 * j + 1];
        }
      }
    }
  }
}

/** An index of a periodic axis of length n as a signed shift in [−n/2, n/2). */
const wrap = (index: number, n: number) => (index < n / 2 ? index : index - n);

/** Offset of the vertex of the parabola through (−1, below), (0, peak), (1, above); 0 where it is flat. */
function vertex(below: number, peak: number, above: number): number {
  const curvature = below - 2 * peak + above;
  return curvature < 0 ? (below - above) / (2 * curvature) : 0;
}
