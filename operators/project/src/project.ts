/**
 * Projections of a volume along one axis, reducing in float64. NaN propagates as in numpy's
 * sum/mean/max: one NaN along a ray makes that output pixel NaN.
 */
import { VOLUME_AXES, type AxisLayout } from '@emflow/sdk';

export type ProjectionMode = 'sum' | 'mean' | 'max';

/** Reduce `src` along `layout.axis` into `dst` (outer × inner elements). */
export function projectInto(src: ArrayLike<number>, layout: AxisLayout, mode: ProjectionMode, dst: Float32Array): void {
  const { outer, along, inner } = layout;
  if (along === 0) {
    throw new RangeError(`project: the volume has no elements along axis ${VOLUME_AXES[layout.axis]} to project (shape [${layout.shape.join(', ')}])`);
  }
  if (dst.length !== outer * inner) throw new RangeError(`project: dst length ${dst.length} does not match [${layout.remaining.join(', ')}]`);
  // One output row (inner elements) at a time, so the reads stream along contiguous memory.
  const row = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    row.fill(mode === 'max' ? -Infinity : 0);
    for (let k = 0; k < along; k++) {
      const start = (o * along + k) * inner;
      if (mode === 'max') {
        for (let i = 0; i < inner; i++) {
          const x = src[start + i];
          // Once NaN, the maximum stays NaN: NaN > x and x > NaN are both false.
          if (x > row[i] || x !== x) row[i] = x;
        }
      } else {
        for (let i = 0; i < inner; i++) row[i] += src[start + i];
      }
    }
    const divisor = mode === 'mean' ? along : 1;
    for (let i = 0; i < inner; i++) dst[o * inner + i] = row[i] / divisor;
  }
}
