/** Cropping a box out of a row-major 2-D image or 3-D volume. */
import type { TypedArray } from '@emflow/sdk';

/** A crop request in pixels; `z` and `depth` apply to volumes only. */
export interface CropRequest {
  x: number;
  y: number;
  width: number;
  height: number;
  z?: number;
  /** Sections to keep from `z` on; absent means all remaining sections. */
  depth?: number;
}

/** A validated box: every extent lies inside the source shape. */
export interface CropBox {
  x: number;
  y: number;
  z: number;
  width: number;
  height: number;
  depth: number;
  /** Shape of the cropped array, with the rank of the source. */
  shape: number[];
}

/** Check `request` against `shape` ([rows, cols] or [z, y, x]) and resolve the defaults. */
export function cropBox(shape: readonly number[], request: CropRequest): CropBox {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new RangeError(`crop: port "image" must be a 2-D image or 3-D volume, got a ${shape.length}-D array of shape [${shape.join(', ')}]`);
  }
  const isVolume = shape.length === 3;
  const [sourceDepth, sourceHeight, sourceWidth] = isVolume ? shape : [1, ...shape];
  const z = request.z ?? 0;
  if (!isVolume && (z !== 0 || request.depth !== undefined)) {
    throw new RangeError(`crop: params "z" (${z}) and "depth" (${request.depth}) apply to volumes only; the image is 2-D [${shape.join(', ')}]`);
  }
  if (request.depth === undefined && z >= sourceDepth) {
    throw new RangeError(`crop: z (${z}) must be less than the image depth ${sourceDepth}`);
  }
  const depth = request.depth ?? sourceDepth - z;
  const { x, y, width, height } = request;
  checkExtent('x', 'width', x, width, sourceWidth, 'width');
  checkExtent('y', 'height', y, height, sourceHeight, 'height');
  if (isVolume) checkExtent('z', 'depth', z, depth, sourceDepth, 'depth');
  return { x, y, z, width, height, depth, shape: isVolume ? [depth, height, width] : [height, width] };
}

function checkExtent(startName: string, sizeName: string, start: number, size: number, available: number, dimension: string): void {
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`crop: ${startName} (${start}) must be an integer ≥ 0`);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`crop: ${sizeName} (${size}) must be an integer ≥ 1`);
  if (start + size > available) {
    throw new RangeError(`crop: ${startName} + ${sizeName} (${start + size}) exceeds the image ${dimension} ${available}`);
  }
}

/**
 * Copy `box` out of `src` (of `shape`) into `dst`, a typed array of the source's own kind, so any
 * dtype (float16 bits included) is kept unchanged.
 */
export function cropInto(src: TypedArray, shape: readonly number[], box: CropBox, dst: TypedArray): void {
  const [sourceHeight, sourceWidth] = shape.slice(-2);
  const { x, y, z, width, height, depth } = box;
  if (dst.length !== width * height * depth) throw new RangeError(`crop: dst length ${dst.length} does not match the box ${depth}×${height}×${width}`);
  let out = 0;
  for (let section = z; section < z + depth; section++) {
    for (let row = y; row < y + height; row++) {
      const start = (section * sourceHeight + row) * sourceWidth + x;
      // One row view per row (not per pixel) turns the copy into a memcpy.
      dst.set(src.subarray(start, start + width), out);
      out += width;
    }
  }
}
