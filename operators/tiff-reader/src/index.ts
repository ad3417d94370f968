import { operator, type ProcessContext } from '@emflow/sdk';
import { readWholeFile } from '@emflow/formats';
import { decodePages, pageFrames, stackFrame } from './tiff-pages.js';

type Pages = 'frames' | 'stack';

@operator({
  name: 'tiff-reader',
  version: '1.0.0',
  description:
    'Reads a grayscale TIFF (8/16/32-bit signed or unsigned integers, 32/64-bit floats; uncompressed, LZW, deflate or PackBits; ' +
    'any number of pages) in its own dtype. A port has one type, so there are two outputs and only the one `pages` chooses gets frames. ' +
    'Metadata: source, page, and pixelSize [y, x] in Å with units when the file has XResolution/YResolution in inches or cm (or ImageJ units).',
  outputs: {
    image: { type: 'image2d', description: 'pages = "frames": one [height, width] frame per page, in file order' },
    stack: { type: 'stack', description: 'pages = "stack": all pages as one [pages, height, width] frame' },
  },
  params: {
    path: { type: 'string', path: 'read', description: 'TIFF file to read (.tif, .tiff)' },
    pages: {
      type: 'string',
      enum: ['frames', 'stack'],
      default: 'frames',
      description: '"frames": emit each page on `image`; "stack": emit all pages once on `stack` (they must share shape and dtype)',
    },
  },
  display: { category: 'source' },
})
export class TiffReader {
  async *process(_inputs: Record<string, never>, { path, pages }: { path: string; pages: Pages }, ctx: ProcessContext) {
    const decoded = await decodePages(readWholeFile(path, 'tiff-reader: path', 'a TIFF file'), path);
    if (pages === 'stack') {
      yield { stack: stackFrame(decoded, path, (dtype, shape, meta) => ctx.alloc('stack', dtype, shape, meta)) };
      return;
    }
    for (const image of pageFrames(decoded, (dtype, shape, meta) => ctx.alloc('image', dtype, shape, meta))) yield { image };
  }
}
