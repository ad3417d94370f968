// The header bytes of an array frame of one dtype and shape whose metadata text has one length in UTF-8. The
// FlatBuffers builder's output depends on the lengths of strings, never on their characters, so the header of
// every such frame is these bytes with its own text at `metaAt`: a stream's frames are written by putting their
// text in, and read without parsing when their bytes are exactly the layout but for that text (codec.ts).
// The Python SDK does the same (emflow_sdk/codec.py), byte for byte.
import { bytesPerElement, type DType } from './dtype.js';
import { align8, tensorBatchMessage, tensorSchemaMessage } from './arrow-messages.js';

export interface ArrayLayout {
  dtype: DType;
  shape: readonly number[];
  size: number;
  /** the schema message, with a stand-in metadata text */
  schema: Uint8Array;
  metaAt: number;
  metaBytes: number;
  /** the record batch message (the values follow it) */
  batch: Uint8Array;
  bodyLength: number;
}

const layouts = new Map<string, ArrayLayout>();
/** layouts kept: a few streams of different shapes (and metadata of a few lengths) per process */
const KEPT_LAYOUTS = 16;
/** Headers larger than this are built and read field by field: a layout is kept, and a huge one must not be. */
const MAX_META_BYTES = 64 * 1024;
const MAX_RANK = 32;

/**
 * Built once per stream shape: parsing a header field by field is most of what reading a small frame costs.
 * Undefined for a metadata text or a rank beyond what is worth keeping.
 */
export function arrayLayout(dtype: DType, shape: readonly number[], metaBytes: number): ArrayLayout | undefined {
  if (metaBytes > MAX_META_BYTES || shape.length > MAX_RANK) return undefined;
  const key = `${dtype} ${shape.join(',')} ${metaBytes}`;
  let layout = layouts.get(key);
  if (layout) {
    // kept longest: the layouts in use
    layouts.delete(key);
    layouts.set(key, layout);
  } else {
    const schema = tensorSchemaMessage(dtype, shape, 'a'.repeat(metaBytes));
    const other = tensorSchemaMessage(dtype, shape, 'b'.repeat(metaBytes));
    let metaAt = 0;
    while (metaBytes > 0 && schema[metaAt] === other[metaAt]) metaAt++;
    const size = shape.reduce((a, b) => a * b, 1);
    const bodyLength = align8(size * bytesPerElement(dtype));
    // -0 is written as 0: a frame read in this layout has the shape its bytes say
    layout = { dtype, shape: shape.map((n) => n + 0), size, schema, metaAt, metaBytes, batch: tensorBatchMessage(size, bodyLength), bodyLength };
    if (layouts.size >= KEPT_LAYOUTS) layouts.delete(layouts.keys().next().value!);
    layouts.set(key, layout);
  }
  return layout;
}

/** Whether `bytes` from `at` hold `expected` from `from` to `to`. */
export function holds(bytes: Uint8Array, at: number, expected: Uint8Array, from = 0, to = expected.length): boolean {
  if (at + to - from > bytes.length) return false;
  for (let i = from; i < to; i++) if (bytes[at + i - from] !== expected[i]) return false;
  return true;
}
