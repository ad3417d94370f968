import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { encodeTiff, formatName, sourceName, writeNewFile } from '@emflow/formats';

@operator({
  name: 'tiff-writer',
  version: '1.0.0',
  description:
    'Writes each frame as a baseline little-endian, uncompressed TIFF in its own dtype (float16 widened to float32): an image as one page, ' +
    'a [pages, height, width] stack or volume as one page per section. A pixel size in Å, nm or µm is kept as XResolution/YResolution per cm.',
  inputs: { data: { type: 'ndarray', description: 'a [height, width] image or a [pages, height, width] stack or volume, any dtype' } },
  outputs: {},
  params: {
    path: {
      type: 'string',
      path: 'write',
      description: 'file name pattern, e.g. out/frame-{frame:04d}.tif; fields: {frame} (meta.frame, {frame:04d} zero-padded), {name} (source file name without extension), {node}',
    },
    overwrite: { type: 'boolean', default: false, description: 'replace existing files; otherwise an existing file is an error' },
  },
  display: { category: 'sink' },
})
export class TiffWriter {
  process({ data }: { data: NDArray }, { path, overwrite }: { path: string; overwrite: boolean }, ctx: ProcessContext) {
    try {
      const file = formatName(path, { frame: data.meta.frame ?? ctx.frame, name: sourceName(data.meta.source), node: ctx.node });
      writeNewFile(file, encodeTiff(data), overwrite);
    } catch (error) {
      throw new Error(`tiff-writer: ${(error as Error).message}`, { cause: error });
    }
    return {};
  }
}
