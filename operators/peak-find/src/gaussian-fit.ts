/**
 * Sub-pixel peak refinement: least-squares fit of an isotropic 2-D Gaussian on a constant,
 *   f(x, y) = amplitude · exp(−((x − x0)² + (y − y0)²) / (2·sigma²)) + offset,
 * to the (2r+1)×(2r+1) pixels around a pixel maximum, by Levenberg–Marquardt.
 */

/** Parameter order in the fit vectors. */
const AMPLITUDE = 0;
const X0 = 1;
const Y0 = 2;
const SIGMA = 3;
const OFFSET = 4;
const PARAMETERS = 5;

const MAX_ITERATIONS = 30;
/** Converged once an update moves the centre and sigma by less than this, px. */
const STEP_TOLERANCE = 1e-9;
const INITIAL_DAMPING = 1e-3;
/** Floor so that damping can grow back within a few rejected steps. */
const MIN_DAMPING = 1e-12;
/** Beyond this damping no descent direction is left: the fit has stalled. */
const MAX_DAMPING = 1e12;

export interface GaussianPeak {
  x: number;
  y: number;
  amplitude: number;
  offset: number;
  sigma: number;
}

/**
 * Fits peaks one after another with buffers allocated once for the window size, so refining
 * thousands of peaks allocates nothing per peak.
 */
export class GaussianFitter {
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  private readonly zs: Float64Array;
  private count = 0;
  private readonly params = new Float64Array(PARAMETERS);
  private readonly trial = new Float64Array(PARAMETERS);
  private readonly gradient = new Float64Array(PARAMETERS);
  private readonly hessian = new Float64Array(PARAMETERS * PARAMETERS);
  private readonly system = new Float64Array(PARAMETERS * (PARAMETERS + 1));
  private readonly step = new Float64Array(PARAMETERS);
  private readonly jacobianRow = new Float64Array(PARAMETERS);

  constructor(readonly radius: number) {
    if (!Number.isInteger(radius) || radius < 1) throw new RangeError(`peak-find: param "fitRadius" = ${radius}; expected an integer ≥ 1 (0 turns refinement off)`);
    const size = (2 * radius + 1) ** 2;
    this.xs = new Float64Array(size);
    this.ys = new Float64Array(size);
    this.zs = new Float64Array(size);
  }

  /**
   * Fit around the pixel (px, py) of the row-major `width`-wide image, using the window's finite
   * pixels inside the image. Undefined when the fit does not converge, or its centre leaves the
   * window, or it yields no positive amplitude, or a sigma outside (0, 2·radius] (a Gaussian much
   * wider than the window is not measured by it).
   */
  fit(src: ArrayLike<number>, width: number, height: number, px: number, py: number): GaussianPeak | undefined {
    const r = this.radius;
    this.gather(src, width, height, px, py);
    if (this.count <= PARAMETERS) return undefined;
    this.initialGuess(px, py);
    if (!this.minimise()) return undefined;
    const p = this.params;
    const amplitude = p[AMPLITUDE];
    const x = p[X0];
    const y = p[Y0];
    // The model depends on sigma² only, so the fit may end on either sign.
    const sigma = Math.abs(p[SIGMA]);
    const offset = p[OFFSET];
    const inside = Math.abs(x - px) <= r && Math.abs(y - py) <= r;
    if (!inside || !(amplitude > 0) || !(sigma > 0 && sigma <= 2 * r) || !Number.isFinite(offset)) return undefined;
    return { x, y, amplitude, offset, sigma };
  }

  private gather(src: ArrayLike<number>, width: number, height: number, px: number, py: number): void {
    const r = this.radius;
    this.count = 0;
    for (let y = Math.max(0, py - r); y <= Math.min(height - 1, py + r); y++) {
      for (let x = Math.max(0, px - r); x <= Math.min(width - 1, px + r); x++) {
        const z = src[y * width + x];
        if (!Number.isFinite(z)) continue;
        this.xs[this.count] = x;
        this.ys[this.count] = y;
        this.zs[this.count] = z;
        this.count++;
      }
    }
  }

  /** Start at the pixel maximum on the window minimum, sigma from the area above half maximum. */
  private initialGuess(px: number, py: number): void {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < this.count; i++) {
      min = Math.min(min, this.zs[i]);
      max = Math.max(max, this.zs[i]);
    }
    let aboveHalf = 0;
    for (let i = 0; i < this.count; i++) if (this.zs[i] - min > (max - min) / 2) aboveHalf++;
    // Area above half maximum = π·(sigma·√(2 ln 2))².
    const sigma = Math.sqrt(aboveHalf / (2 * Math.PI * Math.LN2));
    this.params[AMPLITUDE] = max - min;
    this.params[X0] = px;
    this.params[Y0] = py;
    this.params[SIGMA] = Math.min(this.radius, Math.max(0.5, sigma));
    this.params[OFFSET] = min;
  }

  /** Levenberg–Marquardt with Marquardt's diagonal scaling; true once the steps become negligible. */
  private minimise(): boolean {
    let damping = INITIAL_DAMPING;
    let cost = this.normalEquations(this.params);
    for (let iteration = 0; iteration < MAX_ITERATIONS && damping < MAX_DAMPING; iteration++) {
      if (!this.solveDamped(damping)) {
        damping *= 10;
        continue;
      }
      for (let k = 0; k < PARAMETERS; k++) this.trial[k] = this.params[k] + this.step[k];
      const trialCost = this.costOf(this.trial);
      const small = Math.max(Math.abs(this.step[X0]), Math.abs(this.step[Y0]), Math.abs(this.step[SIGMA])) < STEP_TOLERANCE;
      if (trialCost <= cost) {
        this.params.set(this.trial);
        if (small) return true;
        cost = this.normalEquations(this.params);
        damping = Math.max(damping / 10, MIN_DAMPING);
      } else {
        // Rounding can keep a tiny step from lowering an already minimal cost.
        if (small && trialCost - cost <= 1e-12 * cost) return true;
        damping *= 10;
      }
    }
    return false;
  }

  /** Fill JᵀJ and Jᵀ(z − f) at `p`; returns the sum of squared residuals. */
  private normalEquations(p: Float64Array): number {
    // Indexed reads: destructuring a typed array would run the iterator protocol in this hot path.
    const amplitude = p[AMPLITUDE];
    const x0 = p[X0];
    const y0 = p[Y0];
    const sigma = p[SIGMA];
    const offset = p[OFFSET];
    // Locals, so the loop does not reload the fields on every pixel.
    const { xs, ys, zs, count, hessian, gradient } = this;
    const j = this.jacobianRow;
    hessian.fill(0);
    gradient.fill(0);
    let cost = 0;
    const inverseVariance = 1 / (sigma * sigma);
    for (let i = 0; i < count; i++) {
      const dx = xs[i] - x0;
      const dy = ys[i] - y0;
      const r2 = dx * dx + dy * dy;
      const e = Math.exp(-0.5 * r2 * inverseVariance);
      const residual = zs[i] - (amplitude * e + offset);
      const ae = amplitude * e * inverseVariance;
      j[AMPLITUDE] = e;
      j[X0] = ae * dx;
      j[Y0] = ae * dy;
      j[SIGMA] = (ae * r2) / sigma;
      j[OFFSET] = 1;
      for (let a = 0; a < PARAMETERS; a++) {
        const ja = j[a];
        gradient[a] += ja * residual;
        for (let b = 0; b <= a; b++) hessian[a * PARAMETERS + b] += ja * j[b];
      }
      cost += residual * residual;
    }
    return cost;
  }

  private costOf(p: Float64Array): number {
    const amplitude = p[AMPLITUDE];
    const x0 = p[X0];
    const y0 = p[Y0];
    const sigma = p[SIGMA];
    const offset = p[OFFSET];
    const { xs, ys, zs, count } = this;
    const scale = -0.5 / (sigma * sigma);
    let cost = 0;
    for (let i = 0; i < count; i++) {
      const r2 = (xs[i] - x0) ** 2 + (ys[i] - y0) ** 2;
      cost += (zs[i] - (amplitude * Math.exp(scale * r2) + offset)) ** 2;
    }
    return cost;
  }

  /** step = (JᵀJ + damping·diag(JᵀJ))⁻¹ Jᵀr by Gaussian elimination with partial pivoting; false if singular. */
  private solveDamped(damping: number): boolean {
    const n = PARAMETERS;
    const w = n + 1;
    const m = this.system;
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) m[a * w + b] = this.hessian[a >= b ? a * n + b : b * n + a];
      m[a * w + a] *= 1 + damping;
      m[a * w + n] = this.gradient[a];
    }
    for (let col = 0; col < n; col++) {
      let pivotRow = col;
      for (let row = col + 1; row < n; row++) if (Math.abs(m[row * w + col]) > Math.abs(m[pivotRow * w + col])) pivotRow = row;
      if (!(Math.abs(m[pivotRow * w + col]) > 0)) return false;
      if (pivotRow !== col) {
        for (let k = col; k < w; k++) {
          const swapped = m[col * w + k];
          m[col * w + k] = m[pivotRow * w + k];
          m[pivotRow * w + k] = swapped;
        }
      }
      for (let row = col + 1; row < n; row++) {
        const factor = m[row * w + col] / m[col * w + col];
        for (let k = col; k < w; k++) m[row * w + k] -= factor * m[col * w + k];
      }
    }
    for (let row = n - 1; row >= 0; row--) {
      let sum = m[row * w + n];
      for (let k = row + 1; k < n; k++) sum -= m[row * w + k] * this.step[k];
      this.step[row] = sum / m[row * w + row];
    }
    return this.step.every(Number.isFinite);
  }
}
