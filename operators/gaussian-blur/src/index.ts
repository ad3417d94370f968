import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { gaussianFilter2d } from './blur.js';

@operator({
  name: 'gaussian-blur',
  version: '1.0.0',
  description: 'Gaussian blur of a 2-D image, identical to scipy.ndimage.gaussian_filter(x, sigma, mode="reflect", truncate=4.0).',
  inputs: { image: { type: 'image2d', description: 'image of any dtype' } },
  outputs: { image: { type: 'image2d', description: 'blurred float32 image, same shape' } },
  params: {
    sigma: { type: 'number', minimum: 0, maximum: 1000, default: 1, units: 'px', description: 'standard deviation of the Gaussian' },
  },
  display: { category: 'filter' },
})
export class GaussianBlur {
  process({ image }: { image: NDArray }, { sigma }: { sigma: number }, ctx: ProcessContext) {
    const [height, width] = image.shape;
    const out = ctx.alloc('image', 'float32', image.shape);
    gaussianFilter2d(image.values(), width, height, sigma, out.data as Float32Array);
    return { image: out };
  }
}
