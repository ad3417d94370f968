import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { scaleInto } from './scale.js';

@operator({
  name: 'scale',
  version: '1.0.0',
  description: 'Linear intensity transform y = a·x + b on every element, into a new float32 array of the same shape.',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: { image: { type: 'ndarray', sameAs: 'image', description: 'float32 array, same shape as the input' } },
  params: {
    a: { type: 'number', default: 1, description: 'gain' },
    b: { type: 'number', default: 0, description: 'offset' },
  },
  display: { category: 'intensity' },
})
export class Scale {
  process({ image }: { image: NDArray }, { a, b }: { a: number; b: number }, ctx: ProcessContext) {
    const out = ctx.alloc('image', 'float32', image.shape);
    scaleInto(image.values(), out.data as Float32Array, a, b);
    return { image: out };
  }
}
