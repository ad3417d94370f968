/**
 * Affine intensity scaling y = a·x + b, elementwise. Follows IEEE arithmetic, so NaN propagates,
 * ±Infinity scales (0·Infinity is NaN), and values overflowing a Float32Array dst become ±Infinity.
 * `dst` may be the same array as `src`.
 */
export function scaleInto(src: ArrayLike<number>, dst: Float32Array | Float64Array, a: number, b: number): void {
  if (dst.length !== src.length) {
    throw new RangeError(`scale: dst length ${dst.length} does not equal src length ${src.length}`);
  }
  for (let i = 0; i < src.length; i++) dst[i] = a * src[i] + b;
}
