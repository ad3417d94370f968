import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { axisLayout, withoutAxis, type VolumeAxis } from '@emflow/sdk';
import { sliceInto } from './slice.js';

@operator({
  name: 'slice',
  version: '1.0.0',
  description:
    'One plane of a volume or stack [z, y, x] perpendicular to an axis, as a 2-D image with the dtype of the input. ' +
    'The pixel size loses the sliced axis.',
  inputs: { volume: { type: 'ndarray', description: '3-D volume or stack [z, y, x], any dtype (rank checked when it runs)' } },
  outputs: { image: { type: 'image2d', description: 'the plane: [y, x] for axis z, [z, x] for y, [z, y] for x; same dtype as the input' } },
  params: {
    axis: { type: 'string', enum: ['z', 'y', 'x'], default: 'z', description: 'axis the plane is perpendicular to' },
    index: { type: 'integer', minimum: 0, default: 0, units: 'px', description: 'position of the plane along the axis, from 0 to its size − 1' },
  },
  display: { category: 'volume' },
})
export class Slice {
  process({ volume }: { volume: NDArray }, { axis, index }: { axis: VolumeAxis; index: number }, ctx: ProcessContext) {
    const layout = axisLayout('slice', 'volume', volume.shape, axis);
    const out = ctx.alloc('image', volume.dtype, layout.remaining, withoutAxis(volume.meta, layout.axis));
    sliceInto(volume.data, layout, index, out.data);
    return { image: out };
  }
}
