/** One plane of a volume, perpendicular to an axis. */
import type { TypedArray } from '@emflow/sdk';
import { VOLUME_AXES, type AxisLayout } from '@emflow/sdk';

/** Check that `index` picks an existing plane along `layout.axis`; the message gives the valid range. */
export function checkIndex(layout: AxisLayout, index: number): void {
  const axis = VOLUME_AXES[layout.axis];
  if (layout.along === 0) {
    throw new RangeError(`slice: the volume has no planes along axis ${axis} (shape [${layout.shape.join(', ')}]), so no index (${index}) is valid`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= layout.along) {
    throw new RangeError(`slice: index (${index}) is out of range for axis ${axis} of size ${layout.along}: expected an integer from 0 to ${layout.along - 1}`);
  }
}

/**
 * Copy plane `index` along `layout.axis` of `src` into `dst`, a typed array of the source's own
 * kind, so the dtype (float16 bits included) is kept unchanged.
 */
export function sliceInto(src: TypedArray, layout: AxisLayout, index: number, dst: TypedArray): void {
  checkIndex(layout, index);
  const { outer, along, inner } = layout;
  if (dst.length !== outer * inner) throw new RangeError(`slice: dst length ${dst.length} does not match [${layout.remaining.join(', ')}]`);
  for (let o = 0; o < outer; o++) {
    const start = (o * along + index) * inner;
    const target = o * inner;
    for (let i = 0; i < inner; i++) dst[target + i] = src[start + i];
  }
}
