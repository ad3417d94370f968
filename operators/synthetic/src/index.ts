import { operator, type ProcessContext } from '@emflow/sdk';
import { synthesize, type Pattern } from './patterns.js';

@operator({
  name: 'synthetic',
  version: '1.0.0',
  description: 'Deterministic source of float32 test images: Gaussian noise, Gaussian blobs, or a lattice of peaks. Emits `count` frames.',
  outputs: { image: { type: 'image2d', description: 'float32 image, height × width' } },
  params: {
    pattern: { type: 'string', enum: ['noise', 'gaussian-blobs', 'lattice'], default: 'noise', description: 'what to draw' },
    width: { type: 'integer', minimum: 1, maximum: 16384, default: 512, units: 'px', description: 'image width' },
    height: { type: 'integer', minimum: 1, maximum: 16384, default: 512, units: 'px', description: 'image height' },
    count: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1, description: 'frames to emit (for an endless stream, use a watching folder-source)' },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295, default: 0, description: 'random seed; frame k uses (seed, k)' },
  },
  display: { category: 'source' },
})
export class Synthetic {
  *process(_inputs: Record<string, never>, params: { pattern: Pattern; width: number; height: number; count: number; seed: number }, ctx: ProcessContext) {
    for (let frame = 0; frame < params.count; frame++) {
      const image = ctx.alloc('image', 'float32', [params.height, params.width], { source: `synthetic:${params.pattern}`, units: 'px', pixelSize: [1, 1] });
      synthesize(params.pattern, params.width, params.height, params.seed, frame, image.data as Float32Array);
      yield { image };
    }
  }
}
