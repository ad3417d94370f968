// The file formats of a command operator's ports: which port types each carries, and the name extension its
// files get. (file-codecs.ts turns frames into such files and back.)
import type { PortType } from '@emflow/sdk';

export const FILE_FORMATS = ['mrc', 'tiff', 'png', 'npy', 'json'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** The port types each format carries. */
const CARRIES: Record<FileFormat, readonly PortType[]> = {
  mrc: ['image2d', 'volume3d', 'stack', 'ndarray'],
  tiff: ['image2d', 'volume3d', 'stack', 'ndarray'],
  png: ['image2d', 'ndarray'],
  npy: ['image2d', 'volume3d', 'stack', 'spectrum', 'ndarray'],
  json: ['scalar', 'json'],
};

/** File name extensions: programs such as ImageMagick choose the format by it. */
export const EXTENSIONS: Record<FileFormat, string> = { mrc: '.mrc', tiff: '.tif', png: '.png', npy: '.npy', json: '.json' };

/** Why `format` cannot carry a port of `type`, or undefined when it can. */
export function formatMismatch(format: FileFormat, type: PortType): string | undefined {
  if (CARRIES[format].includes(type)) return undefined;
  const fitting = FILE_FORMATS.filter((f) => CARRIES[f].includes(type));
  return `${format} cannot carry ${type} (${fitting.length ? `${type} goes as ${fitting.join(', ')}` : `no file format carries a ${type}`})`;
}
