/**
 * Deterministic synthetic test images. Every image is a pure function of
 * (pattern, width, height, seed, frame); consecutive frames use independent random streams.
 */

export type Pattern = 'noise' | 'gaussian-blobs' | 'lattice';

/** One blob per this many pixels (at least one blob). */
const PIXELS_PER_BLOB = 4096;
/** Blob profiles are cut off at this many sigmas; the dropped tail is below 4e-6 of the amplitude. */
const BLOB_CUTOFF_SIGMAS = 5;
const LATTICE_SPACING = 16;
const LATTICE_ORIGIN = 8;
const LATTICE_SIGMA = 1.5;
const LATTICE_NOISE = 0.05;
const INV_2_32 = 2 ** -32;

/** Render a row-major `width`×`height` image (`height` rows of `width` pixels), into `into` when given (e.g. a shared-memory slot). */
export function synthesize(pattern: Pattern, width: number, height: number, seed: number, frame: number, into?: Float32Array): Float32Array {
  checkArguments(width, height, seed, frame);
  if (into && into.length !== width * height) throw new RangeError(`synthesize: target holds ${into.length} values, expected ${width}×${height}`);
  // a reused slot holds the previous frame: blobs and lattices add onto zeros
  const image = into ? into.fill(0) : new Float32Array(width * height);
  const rng = new Sfc32(seed, frame);
  switch (pattern) {
    case 'noise':
      fillStandardNormal(image, rng, 1);
      break;
    case 'gaussian-blobs':
      drawBlobs(image, width, height, rng);
      break;
    case 'lattice':
      drawLattice(image, width, height, rng);
      break;
    default:
      throw new RangeError(`synthesize: unknown pattern '${String(pattern)}'`);
  }
  return image;
}

/** Exact centres (pixel coordinates, pixel (0,0) centred at x=0,y=0) of the peaks drawn by the 'lattice' pattern. */
export function latticePeaks(width: number, height: number, seed: number, frame: number): { x: number; y: number }[] {
  checkArguments(width, height, seed, frame);
  const rng = new Sfc32(seed, frame);
  const xs = latticeCentres(LATTICE_ORIGIN + rng.uniform(), width);
  const ys = latticeCentres(LATTICE_ORIGIN + rng.uniform(), height);
  const peaks: { x: number; y: number }[] = [];
  for (const y of ys) for (const x of xs) peaks.push({ x, y });
  return peaks;
}

function checkArguments(width: number, height: number, seed: number, frame: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`synthesize: width and height must be positive integers, got ${width}×${height}`);
  }
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(frame)) {
    throw new RangeError(`synthesize: seed and frame must be safe integers, got seed ${seed}, frame ${frame}`);
  }
}

/**
 * Standard normal samples (times `scale`) by Box–Muller in Marsaglia's polar form: each accepted
 * point in the unit disc yields two independent normals without sin/cos, about twice as fast.
 */
function fillStandardNormal(out: Float32Array, rng: Sfc32, scale: number): void {
  const n = out.length;
  let i = 0;
  while (i < n) {
    const u = 2 * rng.uniform() - 1;
    const v = 2 * rng.uniform() - 1;
    const s = u * u + v * v;
    // Rejecting points outside the disc (and the origin, where log diverges) keeps the angle uniform.
    if (s >= 1 || s === 0) continue;
    const factor = scale * Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * factor;
    if (i < n) out[i++] = v * factor;
  }
}

function drawBlobs(image: Float32Array, width: number, height: number, rng: Sfc32): void {
  const count = Math.max(1, Math.round((width * height) / PIXELS_PER_BLOB));
  // Each blob is separable, so it is rendered as an outer product of two 1-D profiles.
  const profileX = new Float64Array(width);
  const profileY = new Float64Array(height);
  for (let b = 0; b < count; b++) {
    const cx = rng.uniform() * width;
    const cy = rng.uniform() * height;
    const amplitude = 0.5 + rng.uniform();
    const sigma = 2 + 4 * rng.uniform();
    const reach = Math.ceil(BLOB_CUTOFF_SIGMAS * sigma);
    const x0 = Math.max(0, Math.floor(cx) - reach);
    const x1 = Math.min(width - 1, Math.floor(cx) + reach);
    const y0 = Math.max(0, Math.floor(cy) - reach);
    const y1 = Math.min(height - 1, Math.floor(cy) + reach);
    const scale = -0.5 / (sigma * sigma);
    for (let x = x0; x <= x1; x++) profileX[x] = Math.exp(scale * (x - cx) ** 2);
    for (let y = y0; y <= y1; y++) profileY[y] = amplitude * Math.exp(scale * (y - cy) ** 2);
    for (let y = y0; y <= y1; y++) {
      const weight = profileY[y];
      const row = y * width;
      for (let x = x0; x <= x1; x++) image[row + x] += weight * profileX[x];
    }
  }
}

function drawLattice(image: Float32Array, width: number, height: number, rng: Sfc32): void {
  // The offsets are drawn first so latticePeaks can reproduce them from the same stream.
  const profileX = latticeProfile(latticeCentres(LATTICE_ORIGIN + rng.uniform(), width), width);
  const profileY = latticeProfile(latticeCentres(LATTICE_ORIGIN + rng.uniform(), height), height);
  fillStandardNormal(image, rng, LATTICE_NOISE);
  // A full rectangular grid of equal Gaussians is exactly the outer product of the two 1-D comb profiles.
  for (let y = 0; y < height; y++) {
    const weight = profileY[y];
    const row = y * width;
    for (let x = 0; x < width; x++) image[row + x] += weight * profileX[x];
  }
}

function latticeCentres(origin: number, size: number): Float64Array {
  const count = Math.max(0, Math.ceil((size - origin) / LATTICE_SPACING));
  const centres = new Float64Array(count);
  // Multiplying (not accumulating) keeps every centre exact and identical between callers.
  for (let i = 0; i < count; i++) centres[i] = origin + i * LATTICE_SPACING;
  return centres;
}

function latticeProfile(centres: Float64Array, size: number): Float64Array {
  const profile = new Float64Array(size);
  const scale = -0.5 / (LATTICE_SIGMA * LATTICE_SIGMA);
  for (let p = 0; p < size; p++) {
    let sum = 0;
    for (let i = 0; i < centres.length; i++) sum += Math.exp(scale * (p - centres[i]) ** 2);
    profile[p] = sum;
  }
  return profile;
}

/**
 * sfc32 generator (128-bit state, so streams from different (seed, frame) pairs do not overlap in
 * practice). Each state word comes from a bijective hash of one 32-bit half of seed or frame,
 * so distinct (seed, frame) pairs start from distinct states.
 */
class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, frame: number) {
    this.a = fmix32((seed >>> 0) ^ 0x9e3779b9);
    this.b = fmix32(highWord(seed) ^ 0x7f4a7c15);
    this.c = fmix32((frame >>> 0) ^ 0x94d049bb);
    this.d = highWord(frame);
    // Recommended warm-up so the first outputs do not reflect the seeding pattern.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() * INV_2_32;
  }
}

/** Upper 32 bits of a safe integer, in two's complement. */
function highWord(value: number): number {
  return Math.floor(value / 2 ** 32) | 0;
}

/** MurmurHash3 finaliser: a bijection on 32-bit words with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
