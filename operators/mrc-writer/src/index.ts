import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { encodeMrc, formatName, sourceName, writeNewFile } from '@emflow/formats';
import { mrcOptionsFor } from './mrc-options.js';

@operator({
  name: 'mrc-writer',
  version: '1.0.0',
  description:
    'Writes each frame as an MRC2014 file (little-endian, mode from the dtype: int8 → 0, int16 → 1, float32 → 2, uint16 → 6, float16 → 12). ' +
    'Voxel size from meta.pixelSize (Å, or nm/µm converted; unknown → 0), origin and space group from mrc-reader’s metadata.',
  inputs: { data: { type: 'ndarray', description: 'a [y, x] image (one section) or a [z, y, x] volume or stack (z sections)' } },
  outputs: {},
  params: {
    path: {
      type: 'string',
      path: 'write',
      description: 'file name pattern, e.g. out/frame-{frame:04d}.mrc; fields: {frame} (index of the frame, {frame:04d} zero-padded), {name} (source file name without extension), {node}',
    },
    overwrite: { type: 'boolean', default: false, description: 'replace existing files; otherwise an existing file is an error' },
  },
  display: { category: 'sink' },
})
export class MrcWriter {
  process({ data }: { data: NDArray }, { path, overwrite }: { path: string; overwrite: boolean }, ctx: ProcessContext) {
    try {
      const file = formatName(path, { frame: ctx.frame, name: sourceName(data.meta.source), node: ctx.node });
      writeNewFile(file, encodeMrc(data, mrcOptionsFor(data)), overwrite);
    } catch (error) {
      throw new Error(`mrc-writer: ${(error as Error).message}`, { cause: error });
    }
    return {};
  }
}
