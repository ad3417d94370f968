// Contrast for image panes, computed on the pixels the pane received.

/**
 * The ps-th percentiles (0–100) of the finite values, from one sort: linear between closest ranks
 * (numpy.percentile's default); NaN when there is no finite value.
 */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const all = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) all[n++] = values[i];
  const finite = all.subarray(0, n).sort();
  return ps.map((p) => {
    if (finite.length === 0) return NaN;
    const rank = (Math.min(100, Math.max(0, p)) / 100) * (finite.length - 1);
    const below = Math.floor(rank);
    const above = Math.min(below + 1, finite.length - 1);
    return finite[below] + (finite[above] - finite[below]) * (rank - below);
  });
}

/** Smallest and largest finite value; NaNs when there is none. */
export function finiteRange(values: ArrayLike<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? [min, max] : [NaN, NaN];
}
