import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { binInto, binnedMeta, binPlan, type BinAxes, type BinMode } from './bin.js';

@operator({
  name: 'bin',
  version: '1.0.0',
  description:
    'Integer binning: each output pixel is the mean or sum of a factor×factor block (factor³ for axes "xyz"). ' +
    'Trailing rows, columns or sections that do not fill a whole block are dropped (as IMOD and numpy reshape binning do). ' +
    'Output float32; the pixel size of binned axes is multiplied by the factor.',
  inputs: { image: { type: 'ndarray', description: '2-D image [rows, cols] or 3-D volume/stack [z, y, x], any dtype' } },
  outputs: { image: { type: 'ndarray', sameAs: 'image', description: 'binned float32 array, same rank as the input' } },
  params: {
    factor: { type: 'integer', minimum: 1, maximum: 1024, default: 2, units: 'px', description: 'block edge length' },
    mode: { type: 'string', enum: ['mean', 'sum'], default: 'mean', description: 'block mean or block sum' },
    axes: {
      type: 'string',
      enum: ['xy', 'xyz'],
      default: 'xy',
      description: 'xy: bin rows and columns only (each section of a volume or stack separately); xyz: bin all three axes of a volume',
    },
  },
  display: { category: 'geometry' },
})
export class Bin {
  process({ image }: { image: NDArray }, { factor, mode, axes }: { factor: number; mode: BinMode; axes: BinAxes }, ctx: ProcessContext) {
    const plan = binPlan(image.shape, factor, axes);
    const out = ctx.alloc('image', 'float32', plan.shape, binnedMeta(image.meta, plan));
    binInto(image.values(), image.shape, plan, mode, out.data as Float32Array);
    return { image: out };
  }
}
