import { frameMismatch, operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { fitSurface, MAX_ORDER, subtractSurface } from './surface.js';

@operator({
  name: 'background-subtract',
  version: '1.0.0',
  description:
    'Removes a smooth background: fits a polynomial surface of total degree `order` in x and y by least squares ' +
    'to the finite pixels of every `sample`-th row and column, and subtracts it from every pixel. NaN pixels are ' +
    'left out of the fit and stay NaN.',
  inputs: { image: { type: 'image2d', description: 'image of any dtype; NaN/±Infinity pixels are ignored by the fit' } },
  outputs: {
    image: { type: 'image2d', description: 'float32 image − background, same shape' },
    background: { type: 'image2d', description: 'float32 fitted background surface, same shape' },
  },
  params: {
    order: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_ORDER,
      default: 2,
      description: 'total degree of the polynomial in x and y: 0 constant, 1 plane, 2 quadratic, …',
    },
    sample: {
      type: 'integer',
      minimum: 1,
      maximum: 1024,
      default: 4,
      units: 'px',
      description: 'fit on every sample-th row and column (from row and column 0), i.e. 1/sample² of the pixels; 1 fits all pixels',
    },
  },
  display: { category: 'intensity' },
})
export class BackgroundSubtract {
  process({ image }: { image: NDArray }, { order, sample }: { order: number; sample: number }, ctx: ProcessContext) {
    const mismatch = frameMismatch(image, 'image2d');
    if (mismatch) throw new TypeError(`background-subtract: input "image": ${mismatch}`);
    const [height, width] = image.shape;
    const pixels = image.values();
    const surface = fitSurface(pixels, width, height, { order, sample });
    const corrected = ctx.alloc('image', 'float32', image.shape);
    const background = ctx.alloc('background', 'float32', image.shape);
    subtractSurface(pixels, width, height, surface, corrected.data as Float32Array, background.data as Float32Array);
    return { image: corrected, background };
  }
}
