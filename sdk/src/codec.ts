// Frames <-> Arrow IPC stream bytes. Pure functions over byte arrays: no files, no sockets.
//
// An N-D array is one record batch of one row: a FixedSizeList<primitive> column with the canonical
// `arrow.fixed_shape_tensor` extension metadata. Its values are written where the writer already put them
// (a slot view from `alloc`) and the Arrow header is placed directly in front, so no pixel is copied.
import type { Data, Struct, Table } from 'apache-arrow';
import { arrow } from './arrow.js';
import { bytesPerElement, dtypeOfArrow, viewTyped, type DType } from './dtype.js';
import { JsonFrame, NDArray, TableFrame, type Frame, type FrameMeta } from './frames.js';
import {
  checkStream,
  END_OF_STREAM as EOS,
  frameMetadata,
  jsonFrameStream,
  KIND_KEY,
  META_KEY,
  readJsonFrame,
  readTensorHeader,
  tensorBatchMessage,
  tensorSchemaMessage,
  TENSOR_EXTENSION,
} from './arrow-messages.js';
import { arrayLayout, holds, type ArrayLayout } from './array-layout.js';

export { KIND_KEY, META_KEY, TENSOR_EXTENSION };
/** Where `alloc` puts the values of an array in a slot: room in front for the Arrow header. */
export const TENSOR_BODY_OFFSET = 65536;

export class FrameError extends Error {
  override name = 'FrameError';
}

/** Where an encoded frame sits inside a byte range. */
export interface Placement {
  offset: number;
  length: number;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/** Bytes a slot needs to hold an array of this dtype and shape written in place by `alloc`. */
export function slotBytesForArray(dtype: DType, shape: readonly number[]): number {
  return TENSOR_BODY_OFFSET + align(shape.reduce((a, b) => a * b, 1) * bytesPerElement(dtype), 8) + EOS.length;
}

const utf8 = new TextEncoder();
/** fatal, as the header reader's: text that is not UTF-8 is read the long way, which says what is wrong */
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The two IPC messages in front of an array's values (schema and record batch header), and the padded body length. */
function arrayHeader(array: NDArray): { schemaBytes: Uint8Array; batchBytes: Uint8Array; bodyLength: number } {
  const json = JSON.stringify(array.meta);
  const text = utf8.encode(json);
  const layout = arrayLayout(array.dtype, array.shape, text.length);
  const bodyLength = align(array.data.byteLength, 8);
  if (!layout) return { schemaBytes: tensorSchemaMessage(array.dtype, array.shape, json), batchBytes: tensorBatchMessage(array.size, bodyLength), bodyLength };
  const schemaBytes = layout.schema.slice();
  schemaBytes.set(text, layout.metaAt);
  return { schemaBytes, batchBytes: layout.batch, bodyLength };
}

/** Bytes an array frame needs when its values are copied behind the header (large metadata may not fit in front of `alloc`'s values). */
function arrayEncodedSize(array: NDArray): number {
  const { schemaBytes, batchBytes, bodyLength } = arrayHeader(array);
  return Math.max(slotBytesForArray(array.dtype, array.shape), align(schemaBytes.byteLength + batchBytes.byteLength, 64) + bodyLength + EOS.length);
}

/**
 * Encode an N-D array into `target`. When `array.data` already lies inside `target` with room for the
 * header in front of it, the values stay where they are; otherwise they are copied behind the header.
 * Returns undefined when the frame does not fit.
 */
function encodeArrayInto(array: NDArray, target: Uint8Array): Placement | undefined {
  // The record batch of a one-row tensor column, described directly (what Arrow's VectorAssembler would
  // produce: empty validity buffers, the values padded to 8 bytes), so no Arrow vectors are built per frame.
  const valueBytes = array.data.byteLength;
  const { schemaBytes, batchBytes, bodyLength } = arrayHeader(array);
  const headerLength = schemaBytes.byteLength + batchBytes.byteLength;

  const inPlace =
    array.data.buffer === target.buffer &&
    array.data.byteOffset - target.byteOffset >= headerLength &&
    (array.data.byteOffset - target.byteOffset) % 8 === 0;
  const bodyStart = inPlace ? array.data.byteOffset - target.byteOffset : align(headerLength, 64);
  const end = bodyStart + bodyLength + EOS.length;
  if (end > target.byteLength) return undefined;

  const start = bodyStart - headerLength;
  // values first: they may sit in this slot where the (large) header goes, e.g. written by alloc
  if (!inPlace) target.set(new Uint8Array(array.data.buffer, array.data.byteOffset, valueBytes), bodyStart);
  target.set(schemaBytes, start);
  target.set(batchBytes, start + schemaBytes.byteLength);
  target.fill(0, bodyStart + valueBytes, bodyStart + bodyLength);
  target.set(EOS, bodyStart + bodyLength);
  return { offset: start, length: end - start };
}

/** A table frame's table with the frame's metadata in its schema, ready for apache-arrow's IPC writer. */
function tableOfFrame(frame: TableFrame): Table {
  const { RecordBatch, Schema, Table } = arrow();
  const merged = new Map([...frame.table.schema.metadata, ...frameMetadata('table', JSON.stringify(frame.meta))]);
  const schema = new Schema(frame.table.schema.fields, merged);
  return new Table(schema, frame.table.batches.map((b) => new RecordBatch(schema, withSeparateBuffers(b.data))));
}

function jsonStream(frame: JsonFrame): Uint8Array {
  const text = JSON.stringify(frame.value);
  if (text === undefined) throw new FrameError('json frame: value is not JSON-serialisable');
  return jsonFrameStream(text, JSON.stringify(frame.meta));
}

/** The whole stream of a table or JSON frame. */
function streamOf(frame: TableFrame | JsonFrame): Uint8Array {
  return frame.kind === 'json' ? jsonStream(frame) : arrow().tableToIPC(tableOfFrame(frame), 'stream');
}

type Buffers = [Uint8Array | Int32Array | undefined, ArrayBufferView | undefined, Uint8Array | undefined, Int8Array | undefined];

/**
 * The batch with no two columns' buffers overlapping in memory. apache-arrow's IPC writer writes overlapping
 * views (e.g. columns `edges.subarray(0, n)` and `edges.subarray(1)`) as one region and then a body shorter than
 * its header says; a column that overlaps one before it is copied.
 */
function withSeparateBuffers(batch: Data<Struct>): Data<Struct> {
  const seen: { buffer: ArrayBufferLike; start: number; end: number }[] = [];
  const overlaps = (view: ArrayBufferView) => seen.some((r) => r.buffer === view.buffer && view.byteOffset < r.end && r.start < view.byteOffset + view.byteLength);
  const visit = (data: Data): Data => {
    const buffers = [data.valueOffsets, data.values, data.nullBitmap, data.typeIds] as unknown as Buffers;
    const views = buffers.filter((b): b is NonNullable<typeof b> => b !== undefined && b.byteLength > 0);
    const copy = views.some(overlaps);
    const own = copy ? (buffers.map((b) => (b === undefined ? undefined : (b as Uint8Array).slice())) as Buffers) : buffers;
    for (const view of own) if (view && view.byteLength) seen.push({ buffer: view.buffer, start: view.byteOffset, end: view.byteOffset + view.byteLength });
    // a Data without children may leave the field undefined
    const given: Data[] = data.children ?? [];
    const children = given.map(visit);
    if (!copy && children.every((c, i) => c === given[i])) return data;
    return data.clone(data.type, data.offset, data.length, data.nullCount, own as never, children);
  };
  return visit(batch) as Data<Struct>;
}

/** Encode any frame into `target`; undefined when it does not fit. */
export function encodeFrameInto(frame: Frame, target: Uint8Array): Placement | undefined {
  if (frame.kind === 'ndarray') return encodeArrayInto(frame, target);
  const bytes = streamOf(frame);
  if (bytes.byteLength > target.byteLength) return undefined;
  target.set(bytes, 0);
  return { offset: 0, length: bytes.byteLength };
}

/** Encode a frame as a standalone Arrow IPC stream (for files and tests). */
export function encodeFrame(frame: Frame): Uint8Array {
  const buffer = new Uint8Array(encodedSizeOf(frame));
  const placed = encodeFrameInto(frame, buffer);
  if (!placed) throw new FrameError('frame does not fit its own encoding size');
  return buffer.subarray(placed.offset, placed.offset + placed.length);
}

/** Bytes needed to encode this frame (exact for tables and JSON, with header room for arrays). */
export function encodedSizeOf(frame: Frame): number {
  return frame.kind === 'ndarray' ? arrayEncodedSize(frame) : streamOf(frame).byteLength;
}

function parseMeta(metadata: Map<string, string>): FrameMeta {
  const text = metadata.get(META_KEY);
  if (text === undefined) return {};
  try {
    const meta: unknown = JSON.parse(text);
    if (meta && typeof meta === 'object' && !Array.isArray(meta)) return meta as FrameMeta;
  } catch {
    // fall through to the error below
  }
  throw new FrameError(`schema metadata ${META_KEY} is not a JSON object`);
}

/** An N-D array from a tensor column's extension metadata and its values buffer (a view: no copy). */
function arrayOf(extensionMetadata: string, rows: number, dtype: DType, values: { buffer: ArrayBufferLike; byteOffset: number; length: number }, meta: FrameMeta): NDArray {
  let shape: unknown;
  try {
    shape = (JSON.parse(extensionMetadata) as { shape?: unknown }).shape;
  } catch {
    throw new FrameError('array frame: ARROW:extension:metadata is not JSON');
  }
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw new FrameError('array frame: extension metadata has no valid "shape"');
  if (rows !== 1) throw new FrameError(`array frame: expected 1 row, got ${rows}`);
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (size !== values.length) throw new FrameError(`array frame: shape [${shape.join(', ')}] has ${size} elements, the list holds ${values.length}`);
  return new NDArray(viewTyped(dtype, values.buffer, values.byteOffset, size), shape, meta, dtype);
}

/**
 * The layouts of the last array frames read, the latest first: the next frame of a stream most likely has its
 * stream's, but for its metadata text. A few, as the engine reads every stream of a pipeline in turn.
 */
const recentArrays: ArrayLayout[] = [];
const RECENT_ARRAYS = 4;

function remember(layout: ArrayLayout): void {
  const at = recentArrays.indexOf(layout);
  if (at >= 0) recentArrays.splice(at, 1);
  recentArrays.unshift(layout);
  recentArrays.length = Math.min(recentArrays.length, RECENT_ARRAYS);
}

/**
 * The frame, when its bytes are exactly what encodeFrame writes in the layout of one of the last array frames
 * read; only its metadata text is taken from them (its length is the layout's). Undefined otherwise: it is then
 * parsed.
 */
function decodeCanonicalArray(bytes: Uint8Array): NDArray | undefined {
  for (const layout of recentArrays) {
    const { schema, metaAt, metaBytes, batch, bodyLength, dtype, shape, size } = layout;
    const bodyStart = schema.length + batch.length;
    const end = bodyStart + bodyLength;
    const same =
      holds(bytes, 0, schema, 0, metaAt) && holds(bytes, metaAt + metaBytes, schema, metaAt + metaBytes) && holds(bytes, schema.length, batch) && holds(bytes, end, EOS);
    if (!same) continue;
    // a misaligned view goes the long way, as readTensorHeader sends it
    if ((bytes.byteOffset + bodyStart) % bytesPerElement(dtype)) return undefined;
    let meta: unknown;
    try {
      meta = JSON.parse(utf8Strict.decode(bytes.subarray(metaAt, metaAt + metaBytes)));
    } catch {
      return undefined;
    }
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
    remember(layout);
    return new NDArray(viewTyped(dtype, bytes.buffer, bytes.byteOffset + bodyStart, size), [...shape], meta as FrameMeta, dtype);
  }
  return undefined;
}

/**
 * The common case read without apache-arrow: a tensor stream whose first two messages are the schema and an
 * uncompressed record batch. Anything else returns undefined and goes through tableFromIPC.
 */
function decodeTensorDirect(bytes: Uint8Array): NDArray | undefined {
  const header = readTensorHeader(bytes);
  if (!header) return undefined;
  const { dtype, extensionMetadata, metadata, rows, size, valuesAt } = header;
  const array = arrayOf(extensionMetadata, rows, dtype, { buffer: bytes.buffer, byteOffset: bytes.byteOffset + valuesAt, length: size }, parseMeta(metadata));
  const text = metadata.get(META_KEY);
  const layout = metadata.get(KIND_KEY) === 'ndarray' && text !== undefined ? arrayLayout(dtype, array.shape, utf8.encode(text).length) : undefined;
  if (layout) remember(layout);
  return array;
}

function jsonValue(text: string, meta: FrameMeta): JsonFrame {
  try {
    return new JsonFrame(JSON.parse(text), meta);
  } catch {
    throw new FrameError('json frame: value is not valid JSON');
  }
}

/** Decode Arrow IPC stream bytes into a frame. Array values are views into `bytes` when it is 8-byte aligned. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const direct = decodeCanonicalArray(bytes) ?? decodeTensorDirect(bytes);
  if (direct) return direct;
  const json = readJsonFrame(bytes);
  if (json && json.metadata.get(KIND_KEY) === 'json') return jsonValue(json.text, parseMeta(json.metadata));
  const { tableFromIPC } = arrow(); // outside the try: a failure to load it is not the frame's fault
  let table: Table;
  try {
    checkStream(bytes);
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new FrameError(`not an Arrow IPC stream: ${(error as Error).message}`);
  }
  if (table.schema.fields.length === 0) throw new FrameError('Arrow stream has no schema fields');
  const meta = parseMeta(table.schema.metadata);
  const kind = table.schema.metadata.get(KIND_KEY);
  const tensor = table.schema.fields[0].metadata.get('ARROW:extension:name') === TENSOR_EXTENSION;
  if (kind === 'ndarray' || (kind === undefined && tensor)) {
    if (table.batches.length !== 1) throw new FrameError(`array frame: expected 1 batch, got ${table.batches.length}`);
    const field = table.schema.fields[0];
    if (!(field.type instanceof arrow().FixedSizeList)) throw new FrameError(`array frame: column "${field.name}" is ${field.type}, expected FixedSizeList`);
    const values = table.batches[0].data.children[0].children[0];
    const view = values.values as ArrayBufferView;
    const dtype = dtypeOfArrow(values.type);
    if (!dtype) throw new FrameError(`array frame: element type ${values.type} is not supported`);
    const extensionMetadata = field.metadata.get('ARROW:extension:metadata') ?? '{}';
    return arrayOf(extensionMetadata, table.numRows, dtype, { buffer: view.buffer, byteOffset: view.byteOffset + values.offset * bytesPerElement(dtype), length: values.length }, meta);
  }
  if (kind === 'json') {
    const text: unknown = table.numRows === 1 ? table.getChildAt(0)?.get(0) : undefined;
    if (typeof text !== 'string') throw new FrameError('json frame: expected one Utf8 row');
    return jsonValue(text, meta);
  }
  if (kind === 'table' || kind === undefined) return new TableFrame(table, meta);
  throw new FrameError(`unknown frame kind "${kind}"`);
}
