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

const DECODERS: Record<string, Decoder> = {
  '.mrc': mrcFrames,
  '.map': mrcFrames,
  '.mrcs': mrcFrames,
  '.st': mrcFrames,
  '.rec': mrcFrames,
  '.tif': decodeTiff,
  '.tiff': decodeTiff,
  '.npy': (bytes, path) => [decodeNpy(bytes, path, { source: path })],
};

/** Extensions readFrameFile knows (lower case, with the dot). */
export const FRAME_FILE_EXTENSIONS = Object.keys(DECODERS);

/** The arrays in an MRC (one [Z, Y, X] array), TIFF (one per page) or .npy file. */
export async function readFrameFile(path: string): Promise<NDArray[]> {
  const extension = extname(path).toLowerCase();
  const decode = DECODERS[extension];
  if (!decode) throw new Error(`${path}: unknown file type "${extension}" (known: ${FRAME_FILE_EXTENSIONS.join(' ')})`);
  return decode(readWholeFile(path, 'frame file'), path);
}
