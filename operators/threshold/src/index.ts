import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { belowZeroInto, binaryInto, clipInto, type ThresholdMode } from './threshold.js';

@operator({
  name: 'threshold',
  version: '1.0.0',
  description:
    'Threshold at a value. binary: uint8 mask, 1 where x > value (NaN → 0). below-zero: float32, x where x > value, else 0 (NaN → 0). ' +
    'clip: float32 min(x, value) (NaN stays NaN). Same shape as the input.',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: { image: { type: 'ndarray', sameAs: 'image', description: 'uint8 mask (binary) or float32 array (below-zero, clip), same shape' } },
  params: {
    value: { type: 'number', default: 0, description: 'threshold, in the intensity units of the input' },
    mode: {
      type: 'string',
      enum: ['binary', 'below-zero', 'clip'],
      default: 'binary',
      description: 'binary: mask of x > value; below-zero: zero everything not above value; clip: cap values at value',
    },
  },
  display: { category: 'segmentation' },
})
export class Threshold {
  process({ image }: { image: NDArray }, { value, mode }: { value: number; mode: ThresholdMode }, ctx: ProcessContext) {
    const src = image.values();
    if (mode === 'binary') {
      const mask = ctx.alloc('image', 'uint8', image.shape);
      binaryInto(src, value, mask.data as Uint8Array);
      return { image: mask };
    }
    const out = ctx.alloc('image', 'float32', image.shape);
    if (mode === 'below-zero') belowZeroInto(src, value, out.data as Float32Array);
    else clipInto(src, value, out.data as Float32Array);
    return { image: out };
  }
}
