// A ProcessContext for calling an operator in this process, without an engine: for operator tests and the
// single-process benchmark baseline. Outputs go to ordinary memory instead of shared-memory slots.
import { allocateTyped, type DType } from './dtype.js';
import { NDArray, type FrameMeta } from './frames.js';
import type { ProcessContext } from './operator.js';

export interface LocalContext extends ProcessContext {
  frame: number;
  /** the ports `alloc` was called for, in order */
  readonly allocated: string[];
}

/** With `reuse`, each port's buffer is reused frame after frame, as the engine reuses slots. */
export function localContext(node = 'local', options: { reuse?: boolean } = {}): LocalContext {
  const buffers = new Map<string, NDArray>();
  const allocated: string[] = [];
  return {
    node,
    frame: 0,
    allocated,
    alloc(port: string, dtype: DType, shape: readonly number[], meta: FrameMeta = {}) {
      allocated.push(port);
      if (!options.reuse) return NDArray.zeros(dtype, shape, meta);
      const size = shape.reduce((a, b) => a * b, 1);
      let buffer = buffers.get(port);
      if (!buffer || buffer.dtype !== dtype || buffer.size !== size) buffers.set(port, (buffer = new NDArray(allocateTyped(dtype, size), [size], {}, dtype)));
      return new NDArray(buffer.data, shape, meta, dtype);
    },
  };
}
