import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { cropBox, cropInto } from './crop.js';

@operator({
  name: 'crop',
  version: '1.0.0',
  description: 'Cuts a rectangle out of a 2-D image, or a box out of a 3-D volume [z, y, x]. Keeps the dtype and pixel size.',
  inputs: { image: { type: 'ndarray', description: '2-D image [rows, cols] or 3-D volume [z, y, x], any dtype' } },
  outputs: { image: { type: 'ndarray', sameAs: 'image', description: 'the cropped region, same rank and dtype as the input' } },
  params: {
    x: { type: 'integer', minimum: 0, default: 0, units: 'px', description: 'first column kept' },
    y: { type: 'integer', minimum: 0, default: 0, units: 'px', description: 'first row kept' },
    width: { type: 'integer', minimum: 1, units: 'px', description: 'number of columns kept' },
    height: { type: 'integer', minimum: 1, units: 'px', description: 'number of rows kept' },
    z: { type: 'integer', minimum: 0, default: 0, units: 'px', description: 'volumes only: first section kept' },
    depth: { type: 'integer', minimum: 1, optional: true, units: 'px', description: 'volumes only: number of sections kept (default: all from z on)' },
  },
  display: { category: 'geometry' },
})
export class Crop {
  process(
    { image }: { image: NDArray },
    params: { x: number; y: number; width: number; height: number; z: number; depth?: number },
    ctx: ProcessContext,
  ) {
    const box = cropBox(image.shape, params);
    const out = ctx.alloc('image', image.dtype, box.shape);
    cropInto(image.data, image.shape, box, out.data);
    return { image: out };
  }
}
