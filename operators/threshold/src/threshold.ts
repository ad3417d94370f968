/**
 * Thresholding kernels. Float32 inputs are compared with `value` rounded to float32, as numpy 2
 * compares a float32 array with a Python float; otherwise a pixel equal to float32(0.1) would count
 * as above a threshold of 0.1.
 */

export type ThresholdMode = 'binary' | 'below-zero' | 'clip';

/** The threshold at the precision `src` is compared in. */
function comparable(src: ArrayLike<number>, value: number): number {
  if (Number.isNaN(value)) throw new RangeError('threshold: value (NaN) must be a number');
  return src instanceof Float32Array ? Math.fround(value) : value;
}

function checkLengths(src: ArrayLike<number>, dst: ArrayLike<number>): void {
  if (src.length !== dst.length) throw new RangeError(`threshold: dst length ${dst.length} does not equal src length ${src.length}`);
}

/** dst = 1 where src > value, else 0. NaN is not above anything, so it becomes 0. */
export function binaryInto(src: ArrayLike<number>, value: number, dst: Uint8Array): void {
  checkLengths(src, dst);
  const threshold = comparable(src, value);
  for (let i = 0; i < src.length; i++) dst[i] = src[i] > threshold ? 1 : 0;
}

/** dst = src where src > value, else 0 (NaN included): numpy's `where(x > value, x, 0)`. */
export function belowZeroInto(src: ArrayLike<number>, value: number, dst: Float32Array): void {
  checkLengths(src, dst);
  const threshold = comparable(src, value);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    dst[i] = x > threshold ? x : 0;
  }
}

/** dst = min(src, value); NaN stays NaN, as with numpy's `minimum`. */
export function clipInto(src: ArrayLike<number>, value: number, dst: Float32Array): void {
  checkLengths(src, dst);
  const threshold = comparable(src, value);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    // Written so that NaN fails the test and is copied through.
    dst[i] = x > threshold ? threshold : x;
  }
}
