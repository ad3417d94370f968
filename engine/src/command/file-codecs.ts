// The files a command operator's program reads and writes: a frame becomes a file of the format its port names,
// and a file the program wrote becomes a frame, through @emflow/formats and the SDK's .npy support.
import { decode as decodePngBytes } from 'fast-png';
import { decodeMrc, decodeTiff, encodeMrc, encodePng, encodeTiff } from '@emflow/formats';
import { decodeNpy, json, NDArray, npyHeader, type Frame, type FrameMeta, type JsonFrame, type PortType } from '@emflow/sdk';
import { parseJsonDocument } from '../pipeline-file.js';
import type { FileFormat } from './file-formats.js';

/** The bytes of the file the program reads for a frame. Validation pairs array formats with array ports only. */
export function encodeFile(format: FileFormat, frame: Frame): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify((frame as JsonFrame).value));
  const array = frame as NDArray;
  switch (format) {
    case 'mrc':
      return encodeMrc(array);
    case 'tiff':
      return encodeTiff(array);
    case 'npy':
      return Buffer.concat([npyHeader(array), Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength)]);
    case 'png':
      return encodePngAsIs(array);
  }
}

/** A PNG of integer pixels as they are (PNG is an integer format: any other dtype would need a contrast window). */
function encodePngAsIs(image: NDArray): Uint8Array {
  const bitDepth = image.dtype === 'uint8' ? 8 : image.dtype === 'uint16' ? 16 : undefined;
  if (bitDepth === undefined) throw new Error(`png carries uint8 or uint16 pixels, got ${image.dtype} (choose tiff, mrc or npy for this port)`);
  return encodePng(image, { low: 0, high: 2 ** bitDepth - 1, bitDepth });
}

/** The frame a port of `type` gets from a file the program wrote; `file` names it in errors. */
export async function decodeFile(format: FileFormat, bytes: Uint8Array, type: PortType, file: string): Promise<Frame> {
  switch (format) {
    case 'json':
      return json(parseJsonDocument(Buffer.from(bytes).toString('utf8'), file));
    case 'npy':
      return decodeNpy(bytes, file);
    case 'png':
      return decodePng(bytes, file);
    case 'mrc': {
      const { data, voxelSize } = decodeMrc(bytes, file);
      const [x, y, z] = voxelSize;
      return sectionsAs(type, data, [z, y, x], file);
    }
    case 'tiff': {
      const pages = await decodeTiff(bytes, file);
      return sectionsAs(type, stackOf(pages, file), [0, ...(pages[0].meta.pixelSize ?? [0, 0])], file);
    }
  }
}

/**
 * A [sections, y, x] array as the port's type wants it: an image2d is one section, a volume or stack keeps
 * three axes, an ndarray is 2-D when there is one section. The pixel size [z, y, x] in Å is kept where the
 * file states it (not 0).
 */
function sectionsAs(type: PortType, array: NDArray, pixelSize: number[], file: string): NDArray {
  const [sections, height, width] = array.shape;
  if (type === 'image2d' && sections !== 1) throw new Error(`${file} holds ${sections} sections; an image2d output is one image`);
  const flat = type === 'image2d' || (type === 'ndarray' && sections === 1);
  const shape = flat ? [height, width] : [sections, height, width];
  const sizes = flat ? pixelSize.slice(1) : pixelSize;
  const meta: FrameMeta = sizes.every((s) => s > 0 && Number.isFinite(s)) ? { pixelSize: sizes, units: 'Å' } : {};
  return new NDArray(array.data, shape, meta, array.dtype);
}

/** TIFF pages as one [pages, y, x] array; all must have one shape and dtype. */
function stackOf(pages: NDArray[], file: string): NDArray {
  const [first] = pages;
  const odd = pages.find((page) => page.dtype !== first.dtype || page.shape.join() !== first.shape.join());
  if (odd) throw new Error(`${file}: pages differ in shape or dtype (${first.dtype} [${first.shape.join(', ')}], then ${odd.dtype} [${odd.shape.join(', ')}])`);
  const stack = NDArray.zeros(first.dtype, [pages.length, ...first.shape]);
  pages.forEach((page, i) => stack.data.set(page.data, i * first.size));
  return stack;
}

/** A grayscale PNG as uint8 (8 bits or fewer, scaled to 0–255) or uint16 (16 bits). */
function decodePng(bytes: Uint8Array, file: string): NDArray {
  let png: ReturnType<typeof decodePngBytes>;
  try {
    png = decodePngBytes(bytes);
  } catch (error) {
    throw new Error(`${file}: not a readable PNG (${(error as Error).message})`);
  }
  const { width, height, depth, channels, data } = png;
  if (png.palette || channels !== 1) {
    const kind = png.palette ? 'palette' : channels === 2 ? 'grayscale with alpha' : channels === 3 ? 'RGB' : 'RGBA';
    throw new Error(`${file}: a ${kind} PNG; only grayscale PNGs are read (for ImageMagick add -colorspace Gray -alpha off -type Grayscale)`);
  }
  if (depth === 16) return new NDArray(Uint16Array.from(data), [height, width], {}, 'uint16');
  if (depth === 8) return new NDArray(Uint8Array.from(data), [height, width], {}, 'uint8');
  // 1, 2 or 4 bits: rows are packed, most significant bits first, each row starting on a byte
  const top = 2 ** depth - 1;
  const rowBytes = Math.ceil((width * depth) / 8);
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const sample = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & top;
      pixels[y * width + x] = (sample * 255) / top;
    }
  }
  return new NDArray(pixels, [height, width], {}, 'uint8');
}
