// The images in one file's arrays: a 2-D array is one image, a 3-D volume or stack one image per section.
import type { DType, FrameMeta, NDArray } from '@emflow/sdk';

export type Allocate = (dtype: DType, shape: readonly number[], meta: FrameMeta) => NDArray;

function checkRank(array: NDArray, path: string): void {
  if (array.rank !== 2 && array.rank !== 3) {
    throw new Error(`folder-source: ${path} holds an array of shape [${array.shape.join(', ')}], expected a 2-D image or a 3-D volume/stack`);
  }
}

/** How many images `fileImages` gives for these arrays (checked the same way). */
export function imageCount(arrays: readonly NDArray[], path: string): number {
  let count = 0;
  for (const array of arrays) {
    checkRank(array, path);
    count += array.rank === 2 ? 1 : array.shape[0];
  }
  return count;
}

/** Each image copied into an array from `allocate`, with meta `source` (the path), `file` (its index) and, for sections, `section`. */
export function* fileImages(arrays: readonly NDArray[], path: string, file: number, allocate: Allocate): Generator<NDArray> {
  for (const array of arrays) {
    checkRank(array, path);
    const [height, width] = array.shape.slice(-2);
    const { pixelSize } = array.meta;
    const meta: FrameMeta = { ...array.meta, source: path, file };
    if (Array.isArray(pixelSize) && pixelSize.length === array.rank) meta.pixelSize = pixelSize.slice(-2);
    if (array.rank === 2) {
      yield copied(array.data, array.dtype, [height, width], meta, allocate);
      continue;
    }
    const sectionLength = height * width;
    for (let section = 0; section < array.shape[0]; section++) {
      const data = array.data.subarray(section * sectionLength, (section + 1) * sectionLength);
      yield copied(data, array.dtype, [height, width], { ...meta, section }, allocate);
    }
  }
}

function copied(data: NDArray['data'], dtype: DType, shape: readonly number[], meta: FrameMeta, allocate: Allocate): NDArray {
  const image = allocate(dtype, shape, meta);
  image.data.set(data);
  return image;
}
