import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { axisLayout, withoutAxis, type VolumeAxis } from '@emflow/sdk';
import { projectInto, type ProjectionMode } from './project.js';

@operator({
  name: 'project',
  version: '1.0.0',
  description:
    'Sum, mean or maximum projection of a volume or stack [z, y, x] along one axis, into a float32 image of the two other axes. ' +
    'NaN propagates (as numpy sum/mean/max). The pixel size loses the projected axis.',
  inputs: { volume: { type: 'ndarray', description: '3-D volume or stack [z, y, x], any dtype (rank checked when it runs)' } },
  outputs: { image: { type: 'image2d', description: 'float32 projection: [y, x] for axis z, [z, x] for y, [z, y] for x' } },
  params: {
    axis: { type: 'string', enum: ['z', 'y', 'x'], default: 'z', description: 'axis projected away' },
    mode: { type: 'string', enum: ['sum', 'mean', 'max'], default: 'sum', description: 'reduction along the axis' },
  },
  display: { category: 'volume' },
})
export class Project {
  process({ volume }: { volume: NDArray }, { axis, mode }: { axis: VolumeAxis; mode: ProjectionMode }, ctx: ProcessContext) {
    const layout = axisLayout('project', 'volume', volume.shape, axis);
    const out = ctx.alloc('image', 'float32', layout.remaining, withoutAxis(volume.meta, layout.axis));
    projectInto(volume.values(), layout, mode, out.data as Float32Array);
    return { image: out };
  }
}
