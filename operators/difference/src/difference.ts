/** Elementwise difference of two arrays of the same shape. */

/** Fail unless `a` and `b` have exactly the same shape (no broadcasting), naming both. */
export function checkSameShape(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length || a.some((size, axis) => size !== b[axis])) {
    throw new RangeError(`difference: inputs "a" and "b" must have the same shape, got a [${a.join(', ')}] and b [${b.join(', ')}]`);
  }
}

/**
 * dst = a − b, subtracted in float64 and rounded once to float32, so integer inputs never wrap
 * (uint16 0 − 1 is −1, not 65535 as numpy's same-dtype subtraction gives).
 */
export function differenceInto(a: ArrayLike<number>, b: ArrayLike<number>, dst: Float32Array): void {
  if (a.length !== b.length || dst.length !== a.length) {
    throw new RangeError(`difference: lengths differ: a ${a.length}, b ${b.length}, dst ${dst.length}`);
  }
  for (let i = 0; i < dst.length; i++) dst[i] = a[i] - b[i];
}
