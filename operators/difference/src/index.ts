import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { checkSameShape, differenceInto } from './difference.js';

@operator({
  name: 'difference',
  version: '1.0.0',
  description:
    'Elementwise a − b of two arrays of exactly the same shape (no broadcasting), computed in float64 and stored as float32 ' +
    '(integer inputs do not wrap around). Metadata follows a.',
  inputs: {
    a: { type: 'ndarray', description: 'minuend: array of any shape and dtype' },
    b: { type: 'ndarray', description: 'subtrahend: array of the same shape as a, any dtype' },
  },
  outputs: { difference: { type: 'ndarray', sameAs: 'a', description: 'float32 a − b, same shape as the inputs' } },
  display: { category: 'arithmetic' },
})
export class Difference {
  process({ a, b }: { a: NDArray; b: NDArray }, _params: unknown, ctx: ProcessContext) {
    checkSameShape(a.shape, b.shape);
    const out = ctx.alloc('difference', 'float32', a.shape);
    differenceInto(a.values(), b.values(), out.data as Float32Array);
    return { difference: out };
  }
}
