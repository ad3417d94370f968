import { operator, type ProcessContext } from '@emflow/sdk';
import { readWholeFile } from '@emflow/formats';
import { openMrc, readSections, readVolume } from './mrc-frames.js';

type Sections = 'volume' | 'frames';

@operator({
  name: 'mrc-reader',
  version: '1.0.0',
  description:
    'Reads an MRC2014 file (map, tomogram, micrograph or stack; modes 0 int8, 1 int16, 2 float32, 6 uint16, 12 float16) in its own dtype, ' +
    'little- or big-endian, in [z, y, x] order whatever the file’s axis order. A port has one type, so there are two outputs and only ' +
    'the one `sections` chooses gets frames. Metadata: pixelSize (Å, same axis order as the frame), units, origin ([x, y, z] Å, as in ' +
    'the header), spaceGroup (ISPG), mode, source, labels, extendedHeaderBytes, exttyp; sections also carry `section`.',
  outputs: {
    volume: { type: 'volume3d', description: 'sections = "volume": the whole map as one [z, y, x] frame; a single micrograph is a 1-section volume' },
    section: { type: 'image2d', description: 'sections = "frames": one [y, x] frame per section, in order' },
  },
  params: {
    path: { type: 'string', path: 'read', description: 'MRC file to read (.mrc, .map, .mrcs, .st, .rec, …)' },
    sections: {
      type: 'string',
      enum: ['volume', 'frames'],
      default: 'volume',
      description: '"volume": emit the whole map once on `volume`; "frames": emit each section (micrograph, tilt, slice) on `section`',
    },
  },
  display: { category: 'source' },
})
export class MrcReader {
  *process(_inputs: Record<string, never>, { path, sections }: { path: string; sections: Sections }, ctx: ProcessContext) {
    const bytes = readWholeFile(path, 'mrc-reader: path', 'an MRC file');
    const layout = openMrc(bytes, path);
    if (sections === 'volume') {
      yield { volume: readVolume(bytes, layout, (dtype, shape, meta) => ctx.alloc('volume', dtype, shape, meta)) };
      return;
    }
    for (const section of readSections(bytes, layout, (dtype, shape, meta) => ctx.alloc('section', dtype, shape, meta))) yield { section };
  }
}
