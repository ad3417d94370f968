import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { formatName, sourceName, writeNewFile } from '@emflow/formats';
import { encodeNpy } from './encode-npy.js';

@operator({
  name: 'npy-writer',
  version: '1.0.0',
  description: 'Writes each frame as a NumPy .npy file (format 1.0, little-endian, C order) with its dtype and shape as they are; metadata is not kept.',
  inputs: { data: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: {},
  params: {
    path: {
      type: 'string',
      path: 'write',
      description: 'file name pattern, e.g. out/frame-{frame:04d}.npy; fields: {frame} (meta.frame, {frame:04d} zero-padded), {name} (source file name without extension), {node}',
    },
    overwrite: { type: 'boolean', default: false, description: 'replace existing files; otherwise an existing file is an error' },
  },
  display: { category: 'sink' },
})
export class NpyWriter {
  process({ data }: { data: NDArray }, { path, overwrite }: { path: string; overwrite: boolean }, ctx: ProcessContext) {
    try {
      const file = formatName(path, { frame: data.meta.frame ?? ctx.frame, name: sourceName(data.meta.source), node: ctx.node });
      writeNewFile(file, encodeNpy(data), overwrite);
    } catch (error) {
      throw new Error(`npy-writer: ${(error as Error).message}`, { cause: error });
    }
    return {};
  }
}
