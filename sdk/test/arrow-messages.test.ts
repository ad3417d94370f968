// Array and JSON frames written and read without apache-arrow (arrow-messages.ts): byte for byte what Arrow's own
// IPC writer produces, read back as Arrow's reader reads it, and never a view outside the bytes for hostile input.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Field, FixedSizeList, Float32, Int8, makeData, RecordBatch, Schema, Struct, Table, tableFromArrays, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { arrowTypeOf, bytesPerElement, decodeFrame, DTYPES, encodeFrame, FrameError, json, NDArray, table, viewTyped, type DType } from '@emflow/sdk';
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { Builder } from 'flatbuffers';
import { checkStream, readJsonFrame, readTensorHeader } from '../src/arrow-messages.js';

/** The same frame built with apache-arrow's object model and written by its IPC writer. */
function arrowsBytes(dtype: DType, shape: number[], data: ArrayBufferView, meta: object): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const listType = new FixedSizeList(size, new Field('item', arrowTypeOf(dtype), false));
  const extension = new Map([
    ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
    ['ARROW:extension:metadata', JSON.stringify({ shape })],
  ]);
  const schema = new Schema([new Field('data', listType, false, extension)], new Map([['emflow.kind', 'ndarray'], ['emflow.meta', JSON.stringify(meta)]]));
  // typed as Float32 for the compiler only: the type object is the dtype's own
  const child = makeData({ type: arrowTypeOf(dtype) as Float32, length: size, nullCount: 0, data: data as Float32Array });
  const list = makeData({ type: listType, length: 1, nullCount: 0, child });
  return tableToIPC(new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children: [list] }))), 'stream');
}

const SHAPES = [[], [0], [1], [7], [3, 5], [2, 3, 4], [1, 1, 1, 1, 9], [0, 4]];
const METAS = [{}, { frame: 0 }, { frame: 123456, doneAt: '98765432109876', units: 'Å', pixelSize: [1.5, 1.5], nested: { a: [null, true, 1e21, 0.1] } }, { text: 'x'.repeat(5000) }];

describe('array frame headers', () => {
  it.each(DTYPES)('%s: every shape and metadata gives the bytes of Arrow\'s IPC writer', (dtype) => {
    for (const shape of SHAPES) {
      for (const meta of METAS) {
        const array = NDArray.zeros(dtype, shape, meta);
        array.data.forEach((_, i) => (array.data[i] = (i * 7) % 120));
        expect(Buffer.from(encodeFrame(array)).equals(Buffer.from(arrowsBytes(dtype, shape, array.data, meta))), `${dtype} [${shape}] ${JSON.stringify(meta).slice(0, 40)}`).toBe(true);
      }
    }
  });

  it.each(DTYPES)('%s: read as Arrow\'s reader reads it: type, element count, where the values are, metadata', (dtype) => {
    for (const shape of SHAPES) {
      const array = NDArray.zeros(dtype, shape, METAS[2]);
      array.data.forEach((_, i) => (array.data[i] = i + 1));
      const bytes = arrowsBytes(dtype, shape, array.data, METAS[2]);
      const header = readTensorHeader(bytes)!;
      const arrow = tableFromIPC(bytes);
      const values = arrow.batches[0].data.children[0].children[0];
      const view = values.values as ArrayBufferView;
      expect(header.dtype).toBe(dtype);
      expect(header.size).toBe(values.length);
      expect(header.rows).toBe(arrow.numRows);
      // apache-arrow copies the values out; the same values must sit where the header says
      const arrows = Array.from((view as Uint8Array).subarray(values.offset, values.offset + values.length));
      expect(Array.from(viewTyped(dtype, bytes.buffer, bytes.byteOffset + header.valuesAt, header.size))).toEqual(arrows);
      expect(header.metadata).toEqual(arrow.schema.metadata);
      expect(header.extensionMetadata).toBe(arrow.schema.fields[0].metadata.get('ARROW:extension:metadata'));
    }
  });

  it('a JSON value: the bytes of Arrow\'s IPC writer, read back', () => {
    const values = [0, -1.5, 1e21, 'text with é, 漢字 and \u{1F600}', '', null, true, [1, [2, { a: 3 }]], { nested: { x: 'y'.repeat(3000) } }, 'lone \ud800'];
    for (const value of values) {
      const meta = { frame: 4, source: 'x' };
      const text = JSON.stringify(value);
      const schema = new Schema([new Field('value', new Utf8(), false)], new Map([['emflow.kind', 'json'], ['emflow.meta', JSON.stringify(meta)]]));
      const column = vectorFromArray([text], new Utf8()).data[0];
      const arrows = tableToIPC(new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children: [column] }))), 'stream');
      const ours = encodeFrame(json(value, meta));
      expect(Buffer.from(ours).equals(Buffer.from(arrows)), text.slice(0, 40)).toBe(true);
      expect(readJsonFrame(arrows)).toEqual({ text: tableFromIPC(arrows).getChildAt(0)!.get(0), metadata: tableFromIPC(arrows).schema.metadata });
      expect(decodeFrame(arrows)).toMatchObject({ kind: 'json', value: JSON.parse(text), meta });
    }
  });

  it('an operator passing only arrays and JSON values never loads apache-arrow; a table frame loads it, the same module an operator imports', () => {
    const script = `
      import { decodeFrame, encodeFrame, json, NDArray, table } from './dist/index.js';
      import { arrowLoaded } from './dist/arrow.js';
      decodeFrame(encodeFrame(new NDArray(Float32Array.of(1, 2), [2], { frame: 1 })));
      decodeFrame(encodeFrame(json({ a: 1 })));
      const before = arrowLoaded();
      const { tableFromArrays, Table } = await import('apache-arrow');
      const back = decodeFrame(encodeFrame(table(tableFromArrays({ x: Float64Array.of(1, 2) }))));
      console.log(JSON.stringify({ before, after: arrowLoaded(), sameClasses: back.table instanceof Table }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: false, after: true, sameClasses: true });
  });

  it('leaves anything but a tensor column to apache-arrow: tables, JSON, compressed or dictionary batches', () => {
    const json = tableToIPC(new Table({ value: makeData({ type: new FixedSizeList(2, new Field('item', new Int8(), false)), length: 1, nullCount: 0, child: makeData({ type: new Int8(), length: 2, nullCount: 0, data: Int8Array.of(1, 2) }) }) }), 'stream');
    expect(readTensorHeader(json)).toBeUndefined(); // a FixedSizeList without the tensor extension
    expect(readTensorHeader(new Uint8Array(0))).toBeUndefined();
    expect(readTensorHeader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))).toBeUndefined();
  });

  // apache-arrow's reader, which reads every frame the fast path leaves to it, looped for good or ran out of memory
  // on some of these before checkStream: an operator could hang the engine, which decodes every frame, with one
  it('never hangs, never gives a view outside the bytes, never throws anything but FrameError, for 6000 mutated frames', () => {
    const bases = [
      encodeFrame(new NDArray(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4], { frame: 3, units: 'Å' })),
      encodeFrame(json({ dy: 0.25, dx: -1, label: 'drift' }, { frame: 9 })),
      encodeFrame(table(tableFromArrays({ x: Float64Array.of(1, 2, 3), n: Int32Array.of(4, 5, 6) }), { frame: 1 })),
    ];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let readers = 0;
    for (let trial = 0; trial < 6000; trial++) {
      const base = bases[trial % 3];
      const bytes = Uint8Array.from(base);
      for (let k = 1 + Math.floor(random() * 4); k > 0; k--) bytes[Math.floor(random() * Math.min(600, base.length))] = Math.floor(random() * 256);
      const header = readTensorHeader(bytes);
      if (header) {
        readers++;
        expect(header.valuesAt + header.size * bytesPerElement(header.dtype)).toBeLessThanOrEqual(bytes.byteLength);
        expect(header.valuesAt).toBeGreaterThanOrEqual(0);
      }
      try {
        const frame = decodeFrame(bytes);
        if (frame.kind === 'ndarray') {
          const data = frame.data;
          expect(data.buffer === bytes.buffer ? data.byteOffset + data.byteLength <= bytes.byteOffset + bytes.byteLength : true).toBe(true);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(FrameError);
      }
    }
    // many mutations of the array frame leave a readable header (they hit values, padding or metadata text): the fast reader was exercised
    expect(readers).toBeGreaterThan(100);
  });
});

/** An encapsulated message around a flatbuffer: continuation marker, length, padding to 8 bytes. */
function framed(flatbuffer: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((flatbuffer.byteLength + 8) / 8) * 8);
  new DataView(out.buffer).setInt32(0, -1, true);
  new DataView(out.buffer).setInt32(4, out.byteLength - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const END = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

/**
 * A schema message whose one field has two children that are the same table, and so on `levels` deep (2^levels
 * fields to a naive walk), declaring a body of `bodyLength` bytes.
 */
function sharedChildrenSchema(levels: number, bodyLength = 0): Uint8Array {
  const b = new Builder(256);
  const field = (typeId: number, children: number[]) => {
    b.startObject(0);
    const type = b.endObject();
    b.startVector(4, children.length, 4);
    for (const child of [...children].reverse()) b.addOffset(child);
    const vector = b.endVector();
    b.startObject(7);
    b.addFieldOffset(3, type, 0);
    b.addFieldInt8(2, typeId, 0);
    b.addFieldOffset(5, vector, 0);
    return b.endObject();
  };
  let child = field(1, []); // Null
  for (let level = 0; level < levels; level++) child = field(13, [child, child]); // Struct
  b.startVector(4, 1, 4);
  b.addOffset(child);
  const fields = b.endVector();
  b.startObject(4);
  b.addFieldOffset(1, fields, 0);
  const schema = b.endObject();
  b.startObject(5);
  b.addFieldInt16(0, 4, 0);
  b.addFieldOffset(2, schema, 0);
  b.addFieldInt8(1, 1, 0);
  b.addFieldInt64(3, BigInt(bodyLength), BigInt(0));
  b.finish(b.endObject());
  return framed(b.asUint8Array());
}

describe('streams apache-arrow would read at a cost out of proportion to their bytes (found in review)', () => {
  const tableStream = () => encodeFrame(table(tableFromArrays({ x: Float64Array.of(1, 2, 3) }), { frame: 0 }));
  /** The messages of a stream: [schema, batch header, batch body] */
  const parts = (bytes: Uint8Array) => {
    const schemaEnd = 8 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(4, true);
    const batchEnd = schemaEnd + 8 + new DataView(bytes.buffer, bytes.byteOffset + schemaEnd).getInt32(4, true);
    return { schema: bytes.subarray(0, schemaEnd), batch: bytes.subarray(schemaEnd, batchEnd), body: bytes.subarray(batchEnd, bytes.byteLength - 8) };
  };

  it('a body after a schema (where apache-arrow reads none, so it would hide the next message from the check) is refused', () => {
    const { batch, body } = parts(tableStream());
    const schema = sharedChildrenSchema(0, batch.byteLength);
    expect(() => checkStream(concat(schema, batch, body, END))).toThrow(`message 0 (at byte 0) is a message of type 1 with a ${batch.byteLength}-byte body`);
  });

  it('a field tree that lists the same child twice at each of 40 levels is refused at once (a naive walk visits 2^40 fields)', () => {
    const bytes = concat(sharedChildrenSchema(40), END);
    const started = performance.now();
    expect(() => checkStream(bytes)).toThrow(/message 0 \(at byte 0\) refers to the same tables over and over/);
    expect(() => decodeFrame(bytes)).toThrow(FrameError);
    expect(performance.now() - started).toBeLessThan(1000);
    // the same tree without sharing blow-up is read: 3 levels
    expect(() => checkStream(concat(sharedChildrenSchema(3), END))).not.toThrow();
  });

  it('a batch declaring 2^31 rows in a 24-byte body is refused (apache-arrow would allocate a 256 MiB bitmap per column)', () => {
    const { schema, body } = parts(tableStream());
    const rows = 2 ** 31 - 64;
    const header = new RecordBatchHeader(rows, [new FieldNode(rows, 0)], [new BufferRegion(0, 0), new BufferRegion(0, body.byteLength)], null);
    const batch = framed(Message.encode(Message.from(header, body.byteLength)));
    expect(() => checkStream(concat(schema, batch, body, END))).toThrow(`message 1 (at byte ${schema.byteLength}) declares ${rows} rows, more than its ${body.byteLength}-byte body can hold`);
  });

  it('a JSON value followed by a second batch is not read as its first value alone', () => {
    const { schema, batch, body } = parts(encodeFrame(json('first')));
    const twice = concat(schema, batch, body, batch, body, END);
    expect(readJsonFrame(twice)).toBeUndefined();
    expect(() => decodeFrame(twice)).toThrow('json frame: expected one Utf8 row');
  });
});
