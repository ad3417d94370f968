// Frame objects that operators receive and return: N-D arrays, Arrow tables and small JSON values,
// each with frame metadata. Arrays are typed-array views, zero-copy over shared memory when read from a slot.
import type { Table } from 'apache-arrow';
import { allocateTyped, dtypeOfArray, halfToNumber, type DType, type TypedArray } from './dtype.js';

/** Metadata travelling with a frame (Arrow schema metadata `emflow.meta`). */
export interface FrameMeta {
  /** Pixel/voxel size per axis, in the same axis order as the shape. */
  pixelSize?: number[];
  /** Unit of pixelSize, e.g. "Å" or "nm". */
  units?: string;
  /** Where the data came from (file path, instrument). */
  source?: string;
  /** Index of this frame in its stream, counted from 0. */
  frame?: number;
  [key: string]: unknown;
}

export class NDArray {
  readonly kind = 'ndarray' as const;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
  meta: FrameMeta;

  constructor(data: TypedArray, shape: readonly number[], meta: FrameMeta = {}, dtype: DType = dtypeOfArray(data)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((n) => Number.isInteger(n) && n >= 0)) throw new RangeError(`NDArray: shape [${shape.join(', ')}] must be non-negative integers`);
    if (size !== data.length) throw new RangeError(`NDArray: shape [${shape.join(', ')}] needs ${size} elements, data has ${data.length}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.meta = meta;
  }

  static zeros(dtype: DType, shape: readonly number[], meta: FrameMeta = {}): NDArray {
    return new NDArray(allocateTyped(dtype, shape.reduce((a, b) => a * b, 1)), shape, meta, dtype);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The element values as numbers: `data` itself, except float16 (raw half bits) which is widened to float32. */
  values(): TypedArray {
    return this.dtype === 'float16' ? Float32Array.from(this.data, halfToNumber) : this.data;
  }
}

export class TableFrame {
  readonly kind = 'table' as const;
  constructor(
    readonly table: Table,
    public meta: FrameMeta = {},
  ) {}
}

export class JsonFrame<T = unknown> {
  readonly kind = 'json' as const;
  constructor(
    readonly value: T,
    public meta: FrameMeta = {},
  ) {}
}

export type Frame = NDArray | TableFrame | JsonFrame;

export function json<T>(value: T, meta: FrameMeta = {}): JsonFrame<T> {
  return new JsonFrame(value, meta);
}

export function table(value: Table, meta: FrameMeta = {}): TableFrame {
  return new TableFrame(value, meta);
}

/** The same frame (same data, no copy) with other metadata. */
export function withMeta<F extends Frame>(frame: F, meta: FrameMeta): F {
  if (frame.kind === 'ndarray') return new NDArray(frame.data, frame.shape, meta, frame.dtype) as F;
  if (frame.kind === 'table') return new TableFrame(frame.table, meta) as F;
  return new JsonFrame(frame.value, meta) as F;
}
