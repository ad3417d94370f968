/**
 * Integer binning: each output pixel is the mean or sum of a factor×factor block (factor³ with
 * `axes: 'xyz'`). Trailing rows, columns or sections that do not fill a whole block are dropped,
 * as IMOD and numpy's `x[:h//f*f, :w//f*f].reshape(h//f, f, w//f, f).mean(axis=(1, 3))` do.
 */
import type { FrameMeta } from '@emflow/sdk';

export type BinMode = 'mean' | 'sum';
export type BinAxes = 'xy' | 'xyz';

export interface BinPlan {
  /** Block size along each axis of the input, in shape order (1 on axes that are not binned). */
  factors: number[];
  /** Shape of the binned array (same rank as the input). */
  shape: number[];
}

const AXIS_NAMES = ['depth', 'height', 'width'];

/** Validate factor and axes against `shape` ([rows, cols] or [z, y, x]) and work out the output shape. */
export function binPlan(shape: readonly number[], factor: number, axes: BinAxes): BinPlan {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new RangeError(`bin: port "image" must be a 2-D image or 3-D volume, got a ${shape.length}-D array of shape [${shape.join(', ')}]`);
  }
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`bin: factor (${factor}) must be an integer ≥ 1`);
  if (axes === 'xyz' && shape.length !== 3) throw new RangeError(`bin: axes "xyz" needs a 3-D volume, got a 2-D image of shape [${shape.join(', ')}]`);
  const factors = shape.map((_, axis) => (axes === 'xy' && axis === 0 && shape.length === 3 ? 1 : factor));
  const names = AXIS_NAMES.slice(-shape.length);
  const binned = shape.map((size, axis) => {
    if (size < factors[axis]) {
      throw new RangeError(`bin: factor (${factor}) exceeds the image ${names[axis]} ${size}: not one whole block fits`);
    }
    return Math.floor(size / factors[axis]);
  });
  return { factors, shape: binned };
}

/**
 * Bin a row-major 2-D or 3-D `src` of `shape` into `dst` (of `plan.shape`). Sums in float64, so the
 * result is the exactly rounded block mean or sum; NaN in a block makes that output NaN, as in numpy.
 */
export function binInto(src: ArrayLike<number>, shape: readonly number[], plan: BinPlan, mode: BinMode, dst: Float32Array): void {
  const [depthFactor, rowFactor, colFactor] = plan.factors.length === 3 ? plan.factors : [1, ...plan.factors];
  const [outDepth, outHeight, outWidth] = plan.shape.length === 3 ? plan.shape : [1, ...plan.shape];
  const [height, width] = shape.slice(-2);
  if (dst.length !== outDepth * outHeight * outWidth) throw new RangeError(`bin: dst length ${dst.length} does not match [${plan.shape.join(', ')}]`);
  const divisor = mode === 'mean' ? depthFactor * rowFactor * colFactor : 1;
  // One output row of block sums, reused for every row.
  const sums = new Float64Array(outWidth);
  let out = 0;
  for (let outZ = 0; outZ < outDepth; outZ++) {
    for (let outY = 0; outY < outHeight; outY++) {
      sums.fill(0);
      for (let dz = 0; dz < depthFactor; dz++) {
        for (let dy = 0; dy < rowFactor; dy++) {
          let i = ((outZ * depthFactor + dz) * height + outY * rowFactor + dy) * width;
          for (let outX = 0; outX < outWidth; outX++) {
            let rowSum = 0;
            for (let dx = 0; dx < colFactor; dx++) rowSum += src[i++];
            sums[outX] += rowSum;
          }
        }
      }
      for (let outX = 0; outX < outWidth; outX++) dst[out++] = sums[outX] / divisor;
    }
  }
}

/** The input's pixel size with each binned axis's size multiplied by its factor (absent stays absent). */
export function binnedMeta(meta: FrameMeta, plan: BinPlan): FrameMeta {
  const { pixelSize } = meta;
  if (pixelSize === undefined) return {};
  return { pixelSize: pixelSize.map((size, axis) => size * (plan.factors[axis] ?? 1)) };
}
