// The Arrow IPC messages of frames, written and read as FlatBuffers directly.
//
// Array and JSON frames: every frame is encoded once and decoded twice (by the engine and by its consumer), so
// these messages are on the path of every hand-off; building them through apache-arrow's object model cost
// 50-500 µs on a warm operator, this costs a few, and an operator that passes only arrays and JSON values never
// loads apache-arrow. Anything but the layouts written here (a tensor column, or one Utf8 value; uncompressed, no
// nulls) is left to apache-arrow's reader by returning undefined. The bytes are apache-arrow's own, call for call.
//
// Other frames go to apache-arrow, which trusts a flatbuffer's offsets and counts: one changed byte can make it
// loop over billions of children. `checkStream` reads every message's structure with bounds checks first.
import { Builder } from 'flatbuffers';
import { arrowPrimitiveOf, bytesPerElement, dtypeOfPrimitive, type ArrowPrimitive, type DType } from './dtype.js';

export const TENSOR_EXTENSION = 'arrow.fixed_shape_tensor';
export const KIND_KEY = 'emflow.kind';
export const META_KEY = 'emflow.meta';

const METADATA_V5 = 4;
const HEADER_SCHEMA = 1;
const HEADER_RECORD_BATCH = 3;
const HEADER_DICTIONARY_BATCH = 2;
const TYPE_INT = 2;
const TYPE_FLOAT = 3;
const TYPE_UTF8 = 5;
const TYPE_FIXED_SIZE_LIST = 16;

const typeIdOf = (primitive: ArrowPrimitive) => (primitive.kind === 'int' ? TYPE_INT : TYPE_FLOAT);

export const align8 = (n: number) => Math.ceil(n / 8) * 8;

// ---- writing: the builder calls apache-arrow's writer makes, in its order, so the bytes are the same ----

const textEncoder = new TextEncoder();
/** The UTF-8 of the names and keys every message repeats, encoded once rather than per frame. */
const constantUtf8 = new Map<string, Uint8Array>();

/** Where per-frame strings are encoded: the builder copies them, so one buffer serves every string that fits. */
const scratch = new Uint8Array(64 * 1024);

function createString(b: Builder, text: string, constant = false): number {
  if (!constant) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; larger text (rare: a big metadata object) gets its own bytes
    if (3 * text.length > scratch.byteLength) return b.createString(textEncoder.encode(text));
    return b.createString(scratch.subarray(0, textEncoder.encodeInto(text, scratch).written));
  }
  let utf8 = constantUtf8.get(text);
  if (!utf8) constantUtf8.set(text, (utf8 = textEncoder.encode(text)));
  return b.createString(utf8);
}

function keyValues(b: Builder, pairs: [string, string][]): number {
  const offsets = pairs.map(([key, value]) => {
    const k = createString(b, key, true);
    const v = createString(b, value);
    b.startObject(2);
    b.addFieldOffset(0, k, 0);
    b.addFieldOffset(1, v, 0);
    return b.endObject();
  });
  return offsetsVector(b, offsets);
}

function offsetsVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function field(b: Builder, name: string, typeId: number, type: number, children: number[], metadata: [string, string][]): number {
  const childrenVector = offsetsVector(b, children);
  const metadataVector = metadata.length ? keyValues(b, metadata) : 0;
  const nameOffset = name ? createString(b, name, true) : 0;
  b.startObject(7);
  b.addFieldOffset(3, type, 0);
  b.addFieldInt8(2, typeId, 0);
  b.addFieldOffset(5, childrenVector, 0);
  b.addFieldInt8(1, 0, 0); // not nullable
  b.addFieldOffset(0, nameOffset, 0);
  b.addFieldOffset(6, metadataVector, 0);
  return b.endObject();
}

function itemType(b: Builder, primitive: ArrowPrimitive): number {
  if (primitive.kind === 'int') {
    b.startObject(2);
    b.addFieldInt32(0, primitive.bitWidth, 0);
    b.addFieldInt8(1, primitive.signed ? 1 : 0, 0);
  } else {
    b.startObject(1);
    b.addFieldInt16(0, primitive.precision, 0);
  }
  return b.endObject();
}

/**
 * The builder of every message, cleared for each: a new one per message allocated a buffer and a TextEncoder, a
 * quarter of a small frame's encoding time. Messages are built synchronously and copied out before the next.
 */
let builder = new Builder(1024);
/** A builder grown past this by a large message is let go, rather than kept at that size for the process's life. */
const KEPT_BUILDER_BYTES = 1024 * 1024;

/** One encapsulated message: continuation marker, padded length, the flatbuffer, zeros to 8 bytes. */
function message(headerType: number, header: (b: Builder) => number, bodyLength: number): Uint8Array {
  const b = builder;
  b.clear();
  const headerOffset = header(b);
  b.startObject(5);
  b.addFieldInt16(0, METADATA_V5, 0);
  b.addFieldOffset(2, headerOffset, 0);
  b.addFieldInt8(1, headerType, 0);
  b.addFieldInt64(3, BigInt(bodyLength), BigInt(0));
  b.finish(b.endObject());
  const flatbuffer = b.asUint8Array();
  const out = new Uint8Array(align8(flatbuffer.byteLength + 8));
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, out.byteLength - 8, true);
  out.set(flatbuffer, 8);
  if (b.dataBuffer().capacity() > KEPT_BUILDER_BYTES) builder = new Builder(1024);
  return out;
}

/** A schema message: the fields `build` adds (returning their offsets), and the schema's metadata. */
function schemaMessage(build: (b: Builder) => number[], metadata: [string, string][]): Uint8Array {
  return message(
    HEADER_SCHEMA,
    (b) => {
      const built = build(b);
      // apache-arrow starts the fields vector twice (once to size it); the extra alignment is part of its bytes
      b.startVector(4, built.length, 4);
      const fields = offsetsVector(b, built);
      const metadataVector = keyValues(b, metadata);
      b.startObject(4);
      b.addFieldOffset(1, fields, 0);
      b.addFieldOffset(2, metadataVector, 0);
      return b.endObject();
    },
    0,
  );
}

/** A frame's schema metadata: its kind, and its metadata as JSON. */
export const frameMetadata = (kind: 'ndarray' | 'table' | 'json', metaJson: string): [string, string][] => [
  [KIND_KEY, kind],
  [META_KEY, metaJson],
];

function emptyTable(b: Builder): number {
  b.startObject(0);
  return b.endObject();
}

/** The schema message of an array frame: one non-null FixedSizeList column with the fixed-shape tensor extension. */
export function tensorSchemaMessage(dtype: DType, shape: readonly number[], metaJson: string): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  return schemaMessage(
    (b) => {
      b.startObject(1);
      b.addFieldInt32(0, size, 0);
      const listType = b.endObject();
      const primitive = arrowPrimitiveOf(dtype);
      const item = field(b, 'item', typeIdOf(primitive), itemType(b, primitive), [], []);
      return [
        field(b, 'data', TYPE_FIXED_SIZE_LIST, listType, [item], [
          ['ARROW:extension:name', TENSOR_EXTENSION],
          ['ARROW:extension:metadata', JSON.stringify({ shape })],
        ]),
      ];
    },
    frameMetadata('ndarray', metaJson),
  );
}

function structs(b: Builder, pairs: [number, number][]): number {
  b.startVector(16, pairs.length, 8);
  for (let i = pairs.length - 1; i >= 0; i--) {
    b.prep(8, 16);
    b.writeInt64(BigInt(pairs[i][1]));
    b.writeInt64(BigInt(pairs[i][0]));
  }
  return b.endVector();
}

/** A record batch message: its row count, (length, null count) per field, (offset, length) per buffer, and the body length. */
function batchMessage(rows: number, nodes: [number, number][], buffers: [number, number][], bodyLength: number): Uint8Array {
  return message(
    HEADER_RECORD_BATCH,
    (b) => {
      const nodesVector = structs(b, nodes);
      const buffersVector = structs(b, buffers);
      b.startObject(5);
      b.addFieldInt64(0, BigInt(rows), BigInt(0));
      b.addFieldOffset(1, nodesVector, 0);
      b.addFieldOffset(2, buffersVector, 0);
      return b.endObject();
    },
    bodyLength,
  );
}

/** The last tensor batch message built: a stream's frames have one shape, so it is the next one too. Its bytes are shared: copied, never changed. */
let lastTensorBatch: { size: number; bodyLength: number; bytes: Uint8Array } = { size: -1, bodyLength: -1, bytes: new Uint8Array(0) };

/** The record batch message of a one-row tensor column of `size` elements, its values `bodyLength` (padded) bytes long. */
export function tensorBatchMessage(size: number, bodyLength: number): Uint8Array {
  if (lastTensorBatch.size === size && lastTensorBatch.bodyLength === bodyLength) return lastTensorBatch.bytes;
  const bytes = batchMessage(
    1,
    [
      [1, 0],
      [size, 0],
    ],
    [
      [0, 0],
      [0, 0],
      [0, bodyLength],
    ],
    bodyLength,
  );
  lastTensorBatch = { size, bodyLength, bytes };
  return bytes;
}

export const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** A JSON frame as a whole stream: one non-null Utf8 column `value` of one row holding `text`, and the end marker. */
export function jsonFrameStream(text: string, metaJson: string): Uint8Array {
  const data = textEncoder.encode(text);
  const schema = schemaMessage(
    (b) => [field(b, 'value', TYPE_UTF8, emptyTable(b), [], [])],
    frameMetadata('json', metaJson),
  );
  const dataLength = align8(data.byteLength);
  const batch = batchMessage(
    1,
    [[1, 0]],
    [
      [0, 0],
      [0, 8],
      [8, dataLength],
    ],
    8 + dataLength,
  );
  const out = new Uint8Array(schema.byteLength + batch.byteLength + 8 + dataLength + END_OF_STREAM.byteLength);
  out.set(schema, 0);
  out.set(batch, schema.byteLength);
  const body = schema.byteLength + batch.byteLength;
  new DataView(out.buffer).setInt32(body + 4, data.byteLength, true); // offsets [0, length]
  out.set(data, body + 8);
  out.set(END_OF_STREAM, body + 8 + dataLength);
  return out;
}

// ---- reading: bounds-checked, so a hostile header gives undefined (and apache-arrow's error), never a wrong view ----

class OutOfBounds extends Error {}

/**
 * A little-endian int64 as a number, read as two 32-bit halves (a BigInt per read cost more than the rest of a
 * header): exact up to 2^53 in magnitude, past which it is no safe integer and every caller refuses it.
 */
function int64(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
}

/** A table of a flatbuffer; every read is checked against the message's bytes. */
class Table {
  private readonly vtable: number;
  private readonly vtableSize: number;

  constructor(
    private readonly view: DataView,
    private readonly pos: number,
  ) {
    this.vtable = pos - this.i32(pos);
    this.vtableSize = this.u16(this.vtable);
  }

  private check(at: number, bytes: number): number {
    if (!(at >= 0 && at + bytes <= this.view.byteLength)) throw new OutOfBounds();
    return at;
  }
  private i32(at: number) {
    return this.view.getInt32(this.check(at, 4), true);
  }
  private u16(at: number) {
    return this.view.getUint16(this.check(at, 2), true);
  }
  private slot(index: number): number {
    const at = 4 + 2 * index;
    return at + 2 <= this.vtableSize ? this.u16(this.vtable + at) : 0;
  }
  private indirect(at: number): number {
    return at + this.view.getUint32(this.check(at, 4), true);
  }

  u8(index: number): number {
    const off = this.slot(index);
    return off ? this.view.getUint8(this.check(this.pos + off, 1)) : 0;
  }
  i16(index: number): number {
    const off = this.slot(index);
    return off ? this.view.getInt16(this.check(this.pos + off, 2), true) : 0;
  }
  int(index: number): number {
    const off = this.slot(index);
    return off ? this.i32(this.pos + off) : 0;
  }
  /** An int64 field as a number; undefined past 2^53 (no frame is that large). */
  i64(index: number): number | undefined {
    const off = this.slot(index);
    if (!off) return 0;
    const value = int64(this.view, this.check(this.pos + off, 8));
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  has(index: number): boolean {
    return this.slot(index) !== 0;
  }
  table(index: number): Table | undefined {
    const off = this.slot(index);
    return off ? new Table(this.view, this.indirect(this.pos + off)) : undefined;
  }
  string(index: number): string | undefined {
    const off = this.slot(index);
    if (!off) return undefined;
    const at = this.indirect(this.pos + off);
    const length = this.view.getUint32(this.check(at, 4), true);
    this.check(at + 4, length);
    return textDecoder.decode(new Uint8Array(this.view.buffer, this.view.byteOffset + at + 4, length));
  }
  /** Check a string lies inside the message, without decoding it. */
  checkString(index: number): void {
    const off = this.slot(index);
    if (!off) return;
    const at = this.indirect(this.pos + off);
    this.check(at + 4, this.view.getUint32(this.check(at, 4), true));
  }
  /** The start of a vector's elements and their count. */
  vector(index: number): { start: number; count: number } {
    const off = this.slot(index);
    if (!off) return { start: 0, count: 0 };
    const at = this.indirect(this.pos + off);
    return { start: at + 4, count: this.view.getUint32(this.check(at, 4), true) };
  }
  tables(index: number): Table[] {
    const { start, count } = this.vector(index);
    this.check(start, 4 * count);
    const tables: Table[] = [];
    for (let i = 0; i < count; i++) tables.push(new Table(this.view, this.indirect(start + 4 * i)));
    return tables;
  }
  /** Check a vector of `width`-byte elements lies inside the message. */
  checkVector(index: number, width: number): void {
    const { start, count } = this.vector(index);
    if (count) this.check(start, width * count);
  }
  /** A vector of 16-byte structs of two int64s, as numbers. */
  pairs(index: number): [number, number][] {
    const { start, count } = this.vector(index);
    this.check(start, 16 * count);
    const pairs: [number, number][] = [];
    for (let i = 0; i < count; i++) pairs.push([int64(this.view, start + 16 * i), int64(this.view, start + 16 * i + 8)]);
    return pairs;
  }
  /** A vector of the file footer's Block structs: where a message starts, its length (marker, flatbuffer, padding), and its body's. */
  blocks(index: number): { offset: number; metaDataLength: number; bodyLength: number }[] {
    const { start, count } = this.vector(index);
    this.check(start, 24 * count);
    return Array.from({ length: count }, (_, i) => ({
      offset: int64(this.view, start + 24 * i),
      metaDataLength: this.view.getInt32(start + 24 * i + 8, true),
      bodyLength: int64(this.view, start + 24 * i + 16),
    }));
  }
  static root(view: DataView): Table {
    if (view.byteLength < 4) throw new OutOfBounds();
    return new Table(view, view.getUint32(0, true));
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function metadataOf(table: Table, index: number): Map<string, string> {
  return new Map(table.tables(index).map((kv) => [kv.string(0) ?? '', kv.string(1) ?? '']));
}

function dtypeOf(typeId: number, type: Table | undefined): DType | undefined {
  if (!type) return undefined;
  if (typeId === TYPE_INT) return dtypeOfPrimitive({ kind: 'int', bitWidth: type.int(0), signed: type.u8(1) === 1 });
  if (typeId === TYPE_FLOAT) return dtypeOfPrimitive({ kind: 'float', precision: type.i16(0) });
  return undefined;
}

/**
 * The length an encapsulated message at `at` says it has (0: the end-of-stream marker); undefined when there are
 * not 8 bytes there or they do not start with the continuation marker.
 */
function messageLength(bytes: Uint8Array, at: number): number | undefined {
  if (!(at >= 0 && at + 8 <= bytes.byteLength)) return undefined;
  const head = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  return head.getInt32(0, true) === -1 ? head.getInt32(4, true) : undefined;
}

/** One encapsulated message at `at`: its root table and where the next thing starts. */
function readMessage(bytes: Uint8Array, at: number): { message: Table; end: number } | undefined {
  const length = messageLength(bytes, at);
  if (length === undefined || length <= 0 || at + 8 + length > bytes.byteLength) return undefined;
  return { message: Table.root(new DataView(bytes.buffer, bytes.byteOffset + at + 8, length)), end: at + 8 + length };
}

export interface TensorHeader {
  dtype: DType;
  /** the extension metadata's text, parsed by the caller (it says what is wrong with it) */
  extensionMetadata: string;
  /** the schema's metadata: emflow.kind and emflow.meta among others */
  metadata: Map<string, string>;
  rows: number;
  /** elements in the list, and where the values start in `bytes` */
  size: number;
  valuesAt: number;
}

/**
 * A stream whose first message is a schema of one column and whose second is an uncompressed record batch of no
 * nulls, read by `read` (column, its metadata, the batch's buffers as positions in `bytes`); undefined for anything
 * else, and for any offset outside the bytes.
 */
function readOneColumn<T>(
  bytes: Uint8Array,
  read: (column: Table, schemaMetadata: () => Map<string, string>, batch: { rows: number; nodes: [number, number][]; buffers: { at: number; length: number }[] }) => T | undefined,
): T | undefined {
  try {
    const first = readMessage(bytes, 0);
    if (!first || first.message.u8(1) !== HEADER_SCHEMA) return undefined;
    const schema = first.message.table(2);
    const fields = schema?.tables(1) ?? [];
    if (!schema || fields.length !== 1 || fields[0].has(4)) return undefined; // dictionary-encoded
    const second = readMessage(bytes, first.end);
    if (!second || second.message.u8(1) !== HEADER_RECORD_BATCH) return undefined;
    const batch = second.message.table(2);
    if (!batch || batch.has(3)) return undefined; // compressed
    // one batch only: a second would be a second row (or frame) that readers of the whole stream see
    const bodyLength = second.message.i64(3);
    const after = bodyLength === undefined ? -1 : second.end + bodyLength;
    if (after !== bytes.byteLength && messageLength(bytes, after) !== 0) return undefined;
    const rows = batch.i64(0);
    const nodes = batch.pairs(1);
    const regions = batch.pairs(2);
    if (rows === undefined || nodes.some(([length, nulls]) => nulls !== 0 || !Number.isSafeInteger(length) || length < 0)) return undefined;
    const buffers = regions.map(([offset, length]) => ({ at: second.end + offset, length }));
    if (regions.some(([offset, length]) => !(offset >= 0 && length >= 0 && second.end + offset + length <= bytes.byteLength))) return undefined;
    return read(fields[0], () => metadataOf(schema, 2), { rows, nodes, buffers });
  } catch (error) {
    if (error instanceof OutOfBounds || error instanceof TypeError) return undefined; // TypeError: a string that is not UTF-8
    throw error;
  }
}

/** The header of an array frame as written above (or by any Arrow writer in the same layout); undefined for anything else. */
export function readTensorHeader(bytes: Uint8Array): TensorHeader | undefined {
  return readOneColumn(bytes, (column, schemaMetadata, { rows, nodes, buffers }) => {
    if (column.u8(2) !== TYPE_FIXED_SIZE_LIST) return undefined;
    const columnMeta = metadataOf(column, 6);
    const children = column.tables(5);
    if (children.length !== 1 || columnMeta.get('ARROW:extension:name') !== TENSOR_EXTENSION) return undefined;
    const dtype = dtypeOf(children[0].u8(2), children[0].table(3));
    if (!dtype || children[0].has(4) || nodes.length !== 2 || buffers.length !== 3) return undefined;
    const [size] = nodes[1];
    const { at: valuesAt, length } = buffers[2];
    const width = bytesPerElement(dtype);
    if (length < size * width || (bytes.byteOffset + valuesAt) % width) return undefined;
    return { dtype, extensionMetadata: columnMeta.get('ARROW:extension:metadata') ?? '{}', metadata: schemaMetadata(), rows, size, valuesAt };
  });
}

/** The text and schema metadata of a stream of one Utf8 value (a JSON frame as written above); undefined for anything else. */
export function readJsonFrame(bytes: Uint8Array): { text: string; metadata: Map<string, string> } | undefined {
  return readOneColumn(bytes, (column, schemaMetadata, { rows, nodes, buffers }) => {
    if (column.u8(2) !== TYPE_UTF8 || rows !== 1 || nodes.length !== 1 || nodes[0][0] !== 1 || buffers.length !== 3 || buffers[1].length < 8) return undefined;
    const offsets = new DataView(bytes.buffer, bytes.byteOffset + buffers[1].at, 8);
    const start = offsets.getInt32(0, true);
    const end = offsets.getInt32(4, true);
    if (!(start >= 0 && start <= end && end <= buffers[2].length)) return undefined;
    const text = textDecoder.decode(bytes.subarray(buffers[2].at + start, buffers[2].at + end));
    return { text, metadata: schemaMetadata() };
  });
}

/** Fields nest at most this deep: a hostile flatbuffer can make a field its own child. */
const MAX_FIELD_DEPTH = 64;

/** Something in a message that apache-arrow would read at a cost out of all proportion to its bytes. */
class Malformed extends Error {}

/**
 * How many tables and strings the check may visit in one message: a tree of them needs at least 4 bytes of offset
 * each, so a message of n bytes has fewer than n / 4 unless it lists the same one many times (which would make
 * the walk, and apache-arrow's, exponential).
 */
class Visits {
  private left: number;
  constructor(messageLength: number) {
    this.left = messageLength / 4 + 16;
  }
  take(): void {
    if (--this.left < 0) throw new Malformed('refers to the same tables over and over (more than its bytes can hold)');
  }
}

function checkKeyValues(table: Table, index: number, visits: Visits): void {
  for (const kv of table.tables(index)) {
    visits.take();
    kv.checkString(0);
    kv.checkString(1);
  }
}

function checkField(field: Table, depth: number, visits: Visits): void {
  if (depth > MAX_FIELD_DEPTH) throw new Malformed(`nests fields more than ${MAX_FIELD_DEPTH} deep`);
  visits.take();
  field.checkString(0);
  field.table(3);
  field.table(4)?.table(1);
  for (const child of field.tables(5)) checkField(child, depth + 1, visits);
  checkKeyValues(field, 6, visits);
}

function checkSchema(schema: Table | undefined, visits: Visits): void {
  if (!schema) throw new Malformed('has no schema');
  for (const field of schema.tables(1)) checkField(field, 0, visits);
  checkKeyValues(schema, 2, visits);
  schema.checkVector(3, 8);
}

/** A batch's buffers lie in its body, and no length it declares is larger than its body could hold as bits. */
function checkBatch(batch: Table | undefined, bodyLength: number): void {
  if (!batch) throw new Malformed('has no record batch');
  const most = 8 * bodyLength + 64;
  const rows = batch.i64(0);
  if (rows === undefined || rows > most) throw new Malformed(`declares ${rows ?? 'over 2^53'} rows, more than its ${bodyLength}-byte body can hold`);
  for (const [length] of batch.pairs(1)) if (!(length >= 0 && length <= most)) throw new Malformed(`declares a column of ${length} values, more than its ${bodyLength}-byte body can hold`);
  for (const [offset, length] of batch.pairs(2)) if (!(offset >= 0 && length >= 0 && offset + length <= bodyLength)) throw new Malformed(`has a buffer (offset ${offset}, ${length} bytes) outside its ${bodyLength}-byte body`);
  batch.table(3);
  batch.checkVector(4, 8);
}

/**
 * Throws a message when a message of an Arrow IPC stream lacks its continuation marker, is of a kind frames do
 * not use, has any flatbuffer offset outside its bytes (a table, vector or string), nests fields too deep, refers
 * to the same tables more often than its bytes allow, declares more values than its body holds, or has a body
 * where none belongs or past the end of the stream. A stream that passes can be given to apache-arrow: its reader
 * then reads only inside these bounds, and allocates no more than the stream's size suggests.
 */
export function checkStream(bytes: Uint8Array): void {
  let at = 0;
  let index = 0;
  while (at + 8 <= bytes.byteLength) {
    const where = `message ${index} (at byte ${at})`;
    const length = messageLength(bytes, at);
    // the pre-0.15 format (no marker, the length first) is not read: every writer since 2019 writes the marker
    if (length === undefined) throw new Error(`${where} does not start with the continuation marker 0xFFFFFFFF`);
    if (length === 0) return; // end of stream
    if (length < 0 || at + 8 + length > bytes.byteLength) throw new Error(`${where} is ${length} bytes long, past the end of the ${bytes.byteLength}-byte stream`);
    try {
      const message = Table.root(new DataView(bytes.buffer, bytes.byteOffset + at + 8, length));
      const visits = new Visits(length);
      const bodyLength = message.i64(3);
      if (bodyLength === undefined || at + 8 + length + bodyLength > bytes.byteLength) throw new Malformed(`has a body past the end of the ${bytes.byteLength}-byte stream`);
      checkKeyValues(message, 4, visits);
      const header = message.table(2);
      const type = message.u8(1);
      // apache-arrow reads a body only after a batch: a body anywhere else would hide a message from this check
      if (type !== HEADER_RECORD_BATCH && type !== HEADER_DICTIONARY_BATCH && bodyLength !== 0) throw new Malformed(`is a message of type ${type} with a ${bodyLength}-byte body`);
      if (type === HEADER_SCHEMA) {
        checkSchema(header, visits);
      } else if (type === HEADER_RECORD_BATCH) {
        checkBatch(header, bodyLength);
      } else if (type === HEADER_DICTIONARY_BATCH) {
        checkBatch(header?.table(1), bodyLength);
      } else {
        throw new Malformed(`is a message of type ${type} (frames hold schemas, record batches and dictionaries)`);
      }
      at += 8 + length + bodyLength;
      index++;
    } catch (error) {
      if (error instanceof Malformed) throw new Error(`${where} ${error.message}`);
      if (error instanceof OutOfBounds) throw new Error(`${where} is malformed: an offset or length in its header points outside it`);
      throw error;
    }
  }
}

const FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

const hasMagic = (bytes: Uint8Array, at: number) => at >= 0 && at + FILE_MAGIC.length <= bytes.byteLength && FILE_MAGIC.every((byte, i) => bytes[at + i] === byte);

/**
 * checkStream for Arrow IPC bytes of either format. The file format (ARROW1, the stream's messages, a footer that
 * lists where each batch is, ARROW1) is read by apache-arrow through its footer, so the footer is checked, and
 * each message it points at as a stream of one.
 */
export function checkArrow(bytes: Uint8Array): void {
  if (!hasMagic(bytes, 0)) return checkStream(bytes);
  const end = bytes.byteLength;
  if (end < 8 + 4 + FILE_MAGIC.length || !hasMagic(bytes, end - FILE_MAGIC.length)) throw new Error(`an Arrow file of ${end} bytes that does not end with ARROW1 (cut short?)`);
  const footerLength = new DataView(bytes.buffer, bytes.byteOffset + end - 10, 4).getInt32(0, true);
  const footerStart = end - 10 - footerLength;
  if (footerLength <= 0 || footerStart < 8) throw new Error(`the Arrow file's footer length ${footerLength} does not fit its ${end} bytes`);
  try {
    const footer = Table.root(new DataView(bytes.buffer, bytes.byteOffset + footerStart, footerLength));
    const visits = new Visits(footerLength);
    checkSchema(footer.table(1), visits);
    checkKeyValues(footer, 4, visits);
    for (const slot of [2, 3]) {
      for (const { offset, metaDataLength, bodyLength } of footer.blocks(slot)) {
        if (!(offset >= 8 && metaDataLength > 8 && bodyLength >= 0 && offset + metaDataLength + bodyLength <= footerStart)) {
          throw new Malformed(`lists a message at byte ${offset} (${metaDataLength} + ${bodyLength} bytes) outside the file's messages`);
        }
        checkStream(bytes.subarray(offset, offset + metaDataLength + bodyLength));
      }
    }
  } catch (error) {
    if (error instanceof Malformed) throw new Error(`the Arrow file's footer ${error.message}`);
    if (error instanceof OutOfBounds) throw new Error('the Arrow file\'s footer is malformed: an offset or length in it points outside it');
    throw error;
  }
}
