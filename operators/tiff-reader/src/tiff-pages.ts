// A TIFF file as frames: one image per page, or all pages as one stack, copied into arrays the caller
// allocates (ctx.alloc: shared memory).
import { decodeTiff } from '@emflow/formats';
import type { DType, FrameMeta, NDArray } from '@emflow/sdk';

export type Allocate = (dtype: DType, shape: readonly number[], meta: FrameMeta) => NDArray;

/** Every page of the file, with errors naming this operator. */
export async function decodePages(bytes: Uint8Array, path: string): Promise<NDArray[]> {
  try {
    return await decodeTiff(bytes, path);
  } catch (error) {
    throw new Error(`tiff-reader: ${(error as Error).message}`, { cause: error });
  }
}

/** One [height, width] frame per page, allocated only when pulled. */
export function* pageFrames(pages: NDArray[], allocate: Allocate): Generator<NDArray> {
  for (const page of pages) {
    const frame = allocate(page.dtype, page.shape, page.meta);
    frame.data.set(page.data);
    yield frame;
  }
}

const describePage = (page: NDArray) => `${page.shape.join('×')} ${page.dtype}`;

/**
 * All pages as one [pages, height, width] frame. The pixel size is left out: a TIFF gives no spacing between
 * pages, and a made-up one would be worse than none.
 */
export function stackFrame(pages: NDArray[], path: string, allocate: Allocate): NDArray {
  const [first] = pages;
  const odd = pages.findIndex((page) => page.dtype !== first.dtype || page.shape.some((n, axis) => n !== first.shape[axis]));
  if (odd >= 0) {
    throw new Error(`tiff-reader: ${path}: page ${odd} is ${describePage(pages[odd])}, page 0 is ${describePage(first)}; pages = "stack" needs pages of one shape and dtype (read them with pages = "frames")`);
  }
  const pageSize = first.size;
  const stack = allocate(first.dtype, [pages.length, ...first.shape], { source: first.meta.source, pages: pages.length });
  pages.forEach((page, k) => stack.data.set(page.data, k * pageSize));
  return stack;
}
