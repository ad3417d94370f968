// Percentiles as numpy computes them (method 'linear', in numpy's operation order, so results agree to the last
// bit), for operator kernels. O(n) without sorting or copying the data: the finite values are counted into
// buckets by value (a monotonic map, so ranks keep their order), and only the buckets holding the needed ranks
// are copied and searched exactly. Three passes over a 2048² image take a few tens of ms.

/** Which values count: numpy.nanpercentile's (every value but NaN, infinities included) or only finite ones. */
export type Counted = 'non-nan' | 'finite';

const BUCKETS = 1 << 16;

/** numpy's 'linear' virtual index (n − 1)·(percent / 100), its neighbours and the weight of the upper one. */
function interpolationPoint(n: number, percent: number): { below: number; above: number; gamma: number } {
  const virtualIndex = (n - 1) * (percent / 100);
  const floor = Math.floor(virtualIndex);
  const below = Math.min(floor, n - 1);
  return { below, above: Math.min(below + 1, n - 1), gamma: virtualIndex - floor };
}

/** numpy's _lerp: interpolate from the nearer end, which keeps the result monotonic in gamma. */
function lerp(a: number, b: number, gamma: number): number {
  const difference = b - a;
  return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
}

/**
 * The `percents` (0–100) of the values of `src` that count, as numpy.percentile computes them over those values
 * in float64. NaN for each when no value counts.
 */
export function percentiles(src: ArrayLike<number>, percents: readonly number[], counted: Counted = 'non-nan'): number[] {
  let finite = 0;
  let below = 0; // −Infinity, when counted
  let above = 0; // +Infinity, when counted
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (x - x === 0) {
      finite++;
      if (x < min) min = x;
      if (x > max) max = x;
    } else if (counted === 'non-nan' && x === x) {
      if (x < 0) below++;
      else above++;
    }
  }
  const n = finite + below + above;
  if (n === 0) return percents.map(() => NaN);
  const points = percents.map((percent) => interpolationPoint(n, percent));
  // ranks among the finite values, each with its bucket and its rank inside the bucket
  const finiteRanks = [...new Set(points.flatMap((p) => [p.below, p.above]))].map((rank) => rank - below).filter((r) => r >= 0 && r < finite);
  const scale = max > min ? BUCKETS / (max - min) : 0;
  const bucketOf = (x: number) => Math.min(BUCKETS - 1, Math.floor((x - min) * scale));
  const counts = new Uint32Array(BUCKETS);
  if (finiteRanks.length) for (let i = 0; i < src.length; i++) if (src[i] - src[i] === 0) counts[bucketOf(src[i])]++;
  const located = new Map<number, { bucket: number; within: number }>();
  let bucket = 0;
  let before = 0;
  for (const rank of [...finiteRanks].sort((a, b) => a - b)) {
    while (before + counts[bucket] <= rank) before += counts[bucket++];
    located.set(rank, { bucket, within: rank - before });
  }
  // the values of the (few) needed buckets, found through a per-bucket index: no lookup by key per pixel
  const member = new Int32Array(BUCKETS).fill(-1);
  const members: Float64Array[] = [];
  for (const { bucket: b } of located.values()) {
    if (member[b] < 0) {
      member[b] = members.length;
      members.push(new Float64Array(counts[b]));
    }
  }
  if (members.length) {
    const filled = new Uint32Array(members.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i];
      if (!(x - x === 0)) continue;
      const m = member[bucketOf(x)];
      if (m >= 0) members[m][filled[m]++] = x;
    }
  }
  const valueAt = (rank: number): number => {
    if (rank < below) return -Infinity;
    if (rank >= below + finite) return Infinity;
    const { bucket: b, within } = located.get(rank - below)!;
    const values = members[member[b]];
    selectInPlace(values, within);
    return values[within];
  };
  return points.map((p) => lerp(valueAt(p.below), valueAt(p.above), p.gamma));
}

/**
 * Rearrange `values` so that `values[k]` holds the value a full sort would put there, with no larger value before
 * it and no smaller one after it (Hoare's quickselect, median-of-three pivot).
 */
function selectInPlace(values: Float64Array, k: number): void {
  let left = 0;
  let right = values.length - 1;
  while (right > left) {
    const first = values[left];
    const middle = values[(left + right) >>> 1];
    const last = values[right];
    const pivot = Math.max(Math.min(first, middle), Math.min(Math.max(first, middle), last));
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i++] = values[j];
        values[j--] = swap;
      }
    }
    // Now values[left..j] ≤ pivot ≤ values[i..right], and anything between equals the pivot.
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}
