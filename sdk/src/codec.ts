// Frames <-> Arrow IPC stream bytes. Pure functions over byte arrays: no files, no sockets.
//
// An N-D array is one record batch of one row: a FixedSizeList<primitive> column with the canonical
// `arrow.fixed_shape_tensor` extension metadata. Its values are written where the writer already put them
// (a slot view from `alloc`) and the Arrow header is placed directly in front, so no pixel is copied.
import {
  Field,
  FixedSizeList,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { arrowTypeOf, bytesPerElement, dtypeOfArrow, viewTyped, type DType } from './dtype.js';
import { JsonFrame, NDArray, TableFrame, type Frame, type FrameMeta } from './frames.js';

export const TENSOR_EXTENSION = 'arrow.fixed_shape_tensor';
export const KIND_KEY = 'emflow.kind';
export const META_KEY = 'emflow.meta';
/** Where `alloc` puts the values of an array in a slot: room in front for the Arrow header. */
export const TENSOR_BODY_OFFSET = 65536;
const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

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

function schemaMetadata(kind: Frame['kind'], meta: FrameMeta): Map<string, string> {
  return new Map([
    [KIND_KEY, kind],
    [META_KEY, JSON.stringify(meta)],
  ]);
}

function tensorSchema(array: NDArray): Schema {
  const itemType = arrowTypeOf(array.dtype);
  const listType = new FixedSizeList(array.size, new Field('item', itemType, false));
  const extension = new Map([
    ['ARROW:extension:name', TENSOR_EXTENSION],
    ['ARROW:extension:metadata', JSON.stringify({ shape: array.shape })],
  ]);
  return new Schema([new Field('data', listType, false, extension)], schemaMetadata('ndarray', array.meta));
}

function singleBatch(schema: Schema, children: Data[]): RecordBatch {
  const struct = makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children });
  return new RecordBatch(schema, struct);
}

/** One IPC message: continuation marker, padded flatbuffer length, flatbuffer, padding to 8 bytes. */
function framedMessage(message: Message): Uint8Array {
  const flatbuffer = Message.encode(message);
  const size = align(flatbuffer.byteLength + 8, 8);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, size - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

/** The two IPC messages in front of an array's values (schema and record batch header), and the padded body length. */
function arrayHeader(array: NDArray): { schemaBytes: Uint8Array; batchBytes: Uint8Array; bodyLength: number } {
  const bodyLength = align(array.data.byteLength, 8);
  const regions = [new BufferRegion(0, 0), new BufferRegion(0, 0), new BufferRegion(0, bodyLength)];
  const header = new RecordBatchHeader(1, [new FieldNode(1, 0), new FieldNode(array.size, 0)], regions, null);
  return { schemaBytes: framedMessage(Message.from(tensorSchema(array))), batchBytes: framedMessage(Message.from(header, bodyLength)), bodyLength };
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

function tableOfFrame(frame: TableFrame | JsonFrame): Table {
  if (frame.kind === 'json') {
    const text = JSON.stringify(frame.value);
    if (text === undefined) throw new FrameError('json frame: value is not JSON-serialisable');
    const schema = new Schema([new Field('value', new Utf8(), false)], schemaMetadata('json', frame.meta));
    return new Table(singleBatch(schema, [vectorFromArray([text], new Utf8()).data[0]]));
  }
  const merged = new Map([...frame.table.schema.metadata, ...schemaMetadata('table', frame.meta)]);
  const schema = new Schema(frame.table.schema.fields, merged);
  return new Table(schema, frame.table.batches.map((b) => new RecordBatch(schema, withSeparateBuffers(b.data))));
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
  const bytes = tableToIPC(tableOfFrame(frame), 'stream');
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
  return frame.kind === 'ndarray' ? arrayEncodedSize(frame) : tableToIPC(tableOfFrame(frame), 'stream').byteLength;
}

function parseMeta(schema: Schema): FrameMeta {
  const text = schema.metadata.get(META_KEY);
  if (text === undefined) return {};
  try {
    const meta: unknown = JSON.parse(text);
    if (meta && typeof meta === 'object' && !Array.isArray(meta)) return meta as FrameMeta;
  } catch {
    // fall through to the error below
  }
  throw new FrameError(`schema metadata ${META_KEY} is not a JSON object`);
}

/** An N-D array from a tensor field and its values buffer (a view: no copy). */
function arrayOf(field: Field, rows: number, values: { type: DataType; buffer: ArrayBufferLike; byteOffset: number; length: number }, meta: FrameMeta): NDArray {
  if (!(field.type instanceof FixedSizeList)) throw new FrameError(`array frame: column "${field.name}" is ${field.type}, expected FixedSizeList`);
  let shape: unknown;
  try {
    shape = (JSON.parse(field.metadata.get('ARROW:extension:metadata') ?? '{}') as { shape?: unknown }).shape;
  } catch {
    throw new FrameError('array frame: ARROW:extension:metadata is not JSON');
  }
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw new FrameError('array frame: extension metadata has no valid "shape"');
  if (rows !== 1) throw new FrameError(`array frame: expected 1 row, got ${rows}`);
  const dtype = dtypeOfArrow(values.type);
  if (!dtype) throw new FrameError(`array frame: element type ${values.type} is not supported`);
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (size !== values.length) throw new FrameError(`array frame: shape [${shape.join(', ')}] has ${size} elements, the list holds ${values.length}`);
  return new NDArray(viewTyped(dtype, values.buffer, values.byteOffset, size), shape, meta, dtype);
}

/** One IPC message at `at`: its decoded metadata and where its body starts. */
function readMessage(bytes: Uint8Array, at: number): { message: Message; end: number } | undefined {
  if (at + 8 > bytes.byteLength) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  if (view.getInt32(0, true) !== -1) return undefined;
  const length = view.getInt32(4, true);
  if (length <= 0 || at + 8 + length > bytes.byteLength) return undefined;
  return { message: Message.decode(bytes.subarray(at + 8, at + 8 + length)), end: at + 8 + length };
}

/**
 * The common case read without building Arrow vectors: a tensor stream whose first two messages are the
 * schema and an uncompressed record batch. Anything else returns undefined and goes through tableFromIPC.
 */
function decodeTensorDirect(bytes: Uint8Array): NDArray | undefined {
  const first = readMessage(bytes, 0);
  if (!first?.message.isSchema()) return undefined;
  const schema = first.message.header() as Schema;
  const field = schema.fields[0];
  if (schema.fields.length !== 1 || field.metadata.get('ARROW:extension:name') !== TENSOR_EXTENSION || !(field.type instanceof FixedSizeList)) return undefined;
  const second = readMessage(bytes, first.end);
  if (!second?.message.isRecordBatch()) return undefined;
  const batch = second.message.header() as RecordBatchHeader;
  const region = batch.buffers[2];
  const child = batch.nodes[1];
  if (batch.compression || !region || !child || batch.nodes[0].nullCount || child.nullCount) return undefined;
  const dtype = dtypeOfArrow(field.type.children[0].type);
  const byteOffset = bytes.byteOffset + second.end + region.offset;
  if (!dtype || byteOffset % bytesPerElement(dtype) || second.end + region.offset + child.length * bytesPerElement(dtype) > bytes.byteLength) return undefined;
  return arrayOf(field, batch.length, { type: field.type.children[0].type, buffer: bytes.buffer, byteOffset, length: child.length }, parseMeta(schema));
}

/** Decode Arrow IPC stream bytes into a frame. Array values are views into `bytes` when it is 8-byte aligned. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const direct = decodeTensorDirect(bytes);
  if (direct) return direct;
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new FrameError(`not an Arrow IPC stream: ${(error as Error).message}`);
  }
  if (table.schema.fields.length === 0) throw new FrameError('Arrow stream has no schema fields');
  const meta = parseMeta(table.schema);
  const kind = table.schema.metadata.get(KIND_KEY);
  const tensor = table.schema.fields[0].metadata.get('ARROW:extension:name') === TENSOR_EXTENSION;
  if (kind === 'ndarray' || (kind === undefined && tensor)) {
    if (table.batches.length !== 1) throw new FrameError(`array frame: expected 1 batch, got ${table.batches.length}`);
    const values = table.batches[0].data.children[0].children[0];
    const view = values.values as ArrayBufferView;
    const dtype = dtypeOfArrow(values.type);
    const itemBytes = dtype ? bytesPerElement(dtype) : 1;
    return arrayOf(table.schema.fields[0], table.numRows, { type: values.type, buffer: view.buffer, byteOffset: view.byteOffset + values.offset * itemBytes, length: values.length }, meta);
  }
  if (kind === 'json') {
    const text: unknown = table.numRows === 1 ? table.getChildAt(0)?.get(0) : undefined;
    if (typeof text !== 'string') throw new FrameError('json frame: expected one Utf8 row');
    try {
      return new JsonFrame(JSON.parse(text), meta);
    } catch {
      throw new FrameError('json frame: value is not valid JSON');
    }
  }
  if (kind === 'table' || kind === undefined) return new TableFrame(table, meta);
  throw new FrameError(`unknown frame kind "${kind}"`);
}
