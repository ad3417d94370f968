// One entry point for the array files a folder of acquisitions may hold, chosen by extension.
import { extname } from 'node:path';
import { decodeNpy, type NDArray } from '@emflow/sdk';
import { readWholeFile } from './files.js';
import { decodeMrc } from './mrc.js';
import { decodeTiff } from './tiff.js';

type Decoder = (bytes: Uint8Array, path: string) => NDArray[] | Promise<NDArray[]>;

function mrcFrames(bytes: Uint8Array, path: string): NDArray[] {
  const { data, voxelSize } = decodeMrc(bytes, path);
  data.meta = { pixelSize: [voxelSize[2], voxelSize[1], voxelSize[0]], units: 'Å', source: path };
  return [data];
}

/** Each extension's decoder, and the kind of file it expects (in messages about what a path is instead). */
const DECODERS: Record<string, { decode: Decoder; expected: string }> = {};
for (const extension of ['.mrc', '.map', '.mrcs', '.st', '.rec']) DECODERS[extension] = { decode: mrcFrames, expected: 'an MRC file' };
for (const extension of ['.tif', '.tiff']) DECODERS[extension] = { decode: decodeTiff, expected: 'a TIFF file' };
DECODERS['.npy'] = { decode: (bytes, path) => [decodeNpy(bytes, path, { source: path })], expected: 'a NumPy .npy file' };

/** Extensions readFrameFile knows (lower case, with the dot). */
export const FRAME_FILE_EXTENSIONS = Object.keys(DECODERS);

/** The arrays in an MRC (one [Z, Y, X] array), TIFF (one per page) or .npy file. */
export async function readFrameFile(path: string): Promise<NDArray[]> {
  const extension = extname(path).toLowerCase();
  const format = DECODERS[extension];
  if (!format) throw new Error(`${path}: unknown file type "${extension}" (known: ${FRAME_FILE_EXTENSIONS.join(' ')})`);
  return format.decode(readWholeFile(path, 'frame file', format.expected), path);
}
