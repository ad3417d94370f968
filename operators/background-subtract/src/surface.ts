/**
 * Least-squares polynomial background surfaces of total degree ≤ order over an image.
 *
 * The surface is written in products of Legendre polynomials P_i(u)·P_j(v), i + j ≤ order, of
 * coordinates scaled to [−1, 1]. They span exactly the monomials u^i·v^j of the same total degree
 * (so the fitted surface is the same), but are close to orthogonal on a regular grid, which keeps
 * the normal equations well conditioned up to the highest order and for any image size.
 */

export const MAX_ORDER = 4;

export interface FitOptions {
  /** Total degree of the polynomial, 0 (constant) … MAX_ORDER. */
  order: number;
  /** Fit on every `sample`-th row and column, starting at row and column 0 (1/sample² of the pixels). */
  sample: number;
}

/** A fitted surface: Legendre coefficients of the terms in `polynomialTerms(order)` order. */
export interface Surface {
  order: number;
  coefficients: Float64Array;
}

/** Degrees [in x, in y] of each term, by total degree then by degree in y: [0,0], [1,0], [0,1], [2,0], … */
export function polynomialTerms(order: number): [number, number][] {
  const terms: [number, number][] = [];
  for (let degree = 0; degree <= order; degree++) {
    for (let j = 0; j <= degree; j++) terms.push([degree - j, j]);
  }
  return terms;
}

/**
 * P_0 … P_order at the n pixel positions of one axis, scaled to [−1, 1] (a 1-pixel axis sits at 0),
 * as rows of length n: entry k·n + p is P_k(t_p).
 */
export function legendreTable(n: number, order: number): Float64Array {
  const table = new Float64Array((order + 1) * n);
  for (let p = 0; p < n; p++) {
    const t = n > 1 ? (2 * p) / (n - 1) - 1 : 0;
    table[p] = 1;
    if (order >= 1) table[n + p] = t;
    // Bonnet's recursion: (k + 1)·P_{k+1} = (2k + 1)·t·P_k − k·P_{k−1}.
    for (let k = 1; k < order; k++) table[(k + 1) * n + p] = ((2 * k + 1) * t * table[k * n + p] - k * table[(k - 1) * n + p]) / (k + 1);
  }
  return table;
}

/** Least-squares fit over the finite pixels of the regular subsample; NaN and ±Infinity are ignored. */
export function fitSurface(src: ArrayLike<number>, width: number, height: number, options: FitOptions): Surface {
  const { order, sample } = options;
  checkOptions(options);
  checkImage(src, width, height);
  const terms = polynomialTerms(order);
  const m = terms.length;
  const xTable = legendreTable(width, order);
  const yTable = legendreTable(height, order);

  // Normal equations AᵀA·c = Aᵀz. Each basis function is a product P_i(u)·P_j(v), so a sampled row
  // contributes Σ_x P_i·P_k (and Σ_x P_i·z) times the row's P_j(v)·P_l(v): summing those few x-moments
  // per pixel and combining them per row costs (order+1)(order+2)/2 products per pixel instead of m(m+1)/2.
  const perAxis = order + 1;
  const normal = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  const rowMoments = new Float64Array(perAxis * perAxis);
  const rowRhs = new Float64Array(perAxis);
  let samples = 0;
  for (let y = 0; y < height; y += sample) {
    rowMoments.fill(0);
    rowRhs.fill(0);
    const row = y * width;
    for (let x = 0; x < width; x += sample) {
      const z = src[row + x];
      if (!Number.isFinite(z)) continue;
      samples++;
      for (let i = 0; i < perAxis; i++) {
        const pi = xTable[i * width + x];
        rowRhs[i] += pi * z;
        for (let k = 0; k <= i; k++) rowMoments[i * perAxis + k] += pi * xTable[k * width + x];
      }
    }
    for (let a = 0; a < m; a++) {
      const [ia, ja] = terms[a];
      const va = yTable[ja * height + y];
      rhs[a] += rowRhs[ia] * va;
      for (let b = 0; b <= a; b++) {
        const [ib, jb] = terms[b];
        normal[a * m + b] += rowMoments[Math.max(ia, ib) * perAxis + Math.min(ia, ib)] * va * yTable[jb * height + y];
      }
    }
  }
  const coefficients = solveCholesky(normal, rhs, m);
  if (!coefficients) {
    throw new RangeError(
      `background-subtract: ${samples} finite sampled pixel(s) of the ${height}×${width} image (param "sample" = ${sample}) ` +
        `cannot determine a surface of param "order" = ${order} (${m} terms); expected more finite pixels, a smaller sample step or a lower order`,
    );
  }
  return { order, coefficients };
}

/**
 * Write the surface into `background` and `src` − surface into `corrected` (both width×height,
 * row-major). Non-finite pixels stay as they are in `corrected` (NaN − s is NaN).
 */
export function subtractSurface(
  src: ArrayLike<number>,
  width: number,
  height: number,
  surface: Surface,
  corrected: Float32Array | Float64Array,
  background: Float32Array | Float64Array,
): void {
  checkImage(src, width, height);
  for (const [name, out] of [['corrected', corrected], ['background', background]] as const) {
    if (out.length !== width * height) throw new RangeError(`background-subtract: ${name} output has ${out.length} elements, expected ${height}×${width}`);
  }
  const { order, coefficients } = surface;
  const terms = polynomialTerms(order);
  const xTable = legendreTable(width, order);
  const yTable = legendreTable(height, order);
  // Per row, the surface is a polynomial in x alone: collect its coefficients, then sum order + 1 products per pixel.
  const rowCoefficients = new Float64Array(order + 1);
  const row = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    rowCoefficients.fill(0);
    for (let k = 0; k < terms.length; k++) rowCoefficients[terms[k][0]] += coefficients[k] * yTable[terms[k][1] * height + y];
    row.fill(rowCoefficients[0]);
    for (let i = 1; i <= order; i++) {
      const a = rowCoefficients[i];
      const px = xTable.subarray(i * width, (i + 1) * width);
      for (let x = 0; x < width; x++) row[x] += a * px[x];
    }
    const start = y * width;
    for (let x = 0; x < width; x++) {
      background[start + x] = row[x];
      corrected[start + x] = src[start + x] - row[x];
    }
  }
}

function checkOptions({ order, sample }: FitOptions): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) {
    throw new RangeError(`background-subtract: param "order" = ${order}; expected an integer from 0 to ${MAX_ORDER}`);
  }
  if (!Number.isInteger(sample) || sample < 1) throw new RangeError(`background-subtract: param "sample" = ${sample}; expected an integer ≥ 1`);
}

function checkImage(src: ArrayLike<number>, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`background-subtract: input "image" is ${height}×${width} pixels; expected a non-empty image`);
  }
  if (src.length !== width * height) throw new RangeError(`background-subtract: input "image" has ${src.length} elements, expected ${height}×${width}`);
}

/**
 * Solve the symmetric system whose lower triangle is in `a` by Cholesky factorisation (in place).
 * Returns undefined when a pivot collapses relative to its diagonal entry, i.e. when the samples
 * cannot tell some combination of terms apart (too few points, or all on too few rows or columns).
 */
function solveCholesky(a: Float64Array, b: Float64Array, m: number): Float64Array | undefined {
  const RELATIVE_PIVOT = 1e-10;
  for (let j = 0; j < m; j++) {
    let pivot = a[j * m + j];
    for (let k = 0; k < j; k++) pivot -= a[j * m + k] ** 2;
    if (!(pivot > RELATIVE_PIVOT * a[j * m + j])) return undefined;
    const root = Math.sqrt(pivot);
    a[j * m + j] = root;
    for (let i = j + 1; i < m; i++) {
      let sum = a[i * m + j];
      for (let k = 0; k < j; k++) sum -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = sum / root;
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < i; k++) x[i] -= a[i * m + k] * x[k];
    x[i] /= a[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    for (let k = i + 1; k < m; k++) x[i] -= a[k * m + i] * x[k];
    x[i] /= a[i * m + i];
  }
  return x;
}
