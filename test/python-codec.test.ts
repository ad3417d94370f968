// The Python SDK's codec (sdk/python/emflow_sdk) against the TypeScript SDK's, byte for byte in both directions:
// arrays of every dtype and shape with edge values, JSON frames, tables written by apache-arrow; frames it must
// refuse; and random mutations of valid frames, which must decode or fail with a FrameError, never crash.
// The Python side is test/fixtures/python/codec_check.py, run with every distinct python3 at hand (CI: one).
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import {
  Bool,
  DateDay,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Uint8,
  Uint16,
  Uint32,
  Utf8,
  makeData,
  tableFromArrays,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { BodyCompression, BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { CompressionType } from 'apache-arrow/fb/compression-type';
import { describe, expect, it } from 'vitest';
import { DTYPES, FrameError, NDArray, decodeFrame, encodeFrame, json, table, type JsonFrame, type TableFrame } from '@emflow/sdk';
import { edgeCases, firstDifference, python, root } from './helpers.js';

const script = resolve(root, 'test/fixtures/python/codec_check.py');

/** Every distinct interpreter: $EMFLOW_PYTHON (CI's Debian Python) and python3 on the PATH, when it is another one. */
const interpreters = [...new Map([python, 'python3'].flatMap((command) => {
  try {
    const executable = execFileSync(command, ['-c', 'import sys, numpy; print(sys.executable, numpy.__version__)'], { encoding: 'utf8' }).trim();
    return [[executable, command] as const];
  } catch {
    return [];
  }
})).values()];

interface Described {
  kind: 'ndarray' | 'json' | 'table';
  dtype?: string;
  shape?: number[];
  writeable?: boolean;
  raw?: string;
  float64?: string;
  value?: unknown;
  rows?: number;
  columns?: { name: string; type: string; data?: string; values?: unknown[]; mask: boolean[] | null }[];
  meta: Record<string, unknown>;
}
type Decoded = (Described & { reencoded: string }) | { error: string; type: string; traceback?: string };
interface Answer {
  python: string;
  numpy: string;
  decode?: Decoded[];
  encode?: ({ bytes: string } | { error: string; traceback: string })[];
  native?: { name: string; bytes?: string; expect?: Described; error?: string; traceback?: string }[];
  fuzz?: { runs: number; outcomes: { decoded: number; FrameError: number }; crashes: { mutation: number; stage: string; error: string; traceback?: string; bytes: string }[] };
}

function ask(interpreter: string, request: object): Answer {
  const result = spawnSync(interpreter, [script], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
  if (result.status !== 0) throw new Error(`codec_check.py failed (${result.status ?? result.signal}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Answer;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
const float64Of = (text: string) => {
  const bytes = Buffer.from(text, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
/** JSON numbers the Python side had to spell as strings (NaN, ±Infinity, −0), back to numbers. */
const revive = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(revive)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
      : value === 'NaN'
        ? NaN
        : value === 'Infinity'
          ? Infinity
          : value === '-Infinity'
            ? -Infinity
            : value === '-0'
              ? -0
              : value;

function decodedOk(entry: Decoded | undefined, what: string): Described & { reencoded: string } {
  if (!entry || 'error' in entry) throw new Error(`${what}: Python failed: ${entry ? `${entry.error}\n${entry.traceback ?? ''}` : 'no answer'}`);
  return entry;
}

/** Where two byte strings first differ, or undefined. */
function byteDifference(actual: Uint8Array, expected: Uint8Array): string | undefined {
  if (Buffer.compare(Buffer.from(actual), Buffer.from(expected)) === 0) return undefined;
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  return `${actual.length} bytes vs ${expected.length}, first difference at byte ${i}`;
}

const META = {
  pixelSize: [1.06, 1.06],
  units: 'Å',
  source: '/data/run7/mic_0001.mrc',
  frame: 3,
  tiny: 1e-7,
  tenth: 0.1,
  two: 2.0,
  huge: 1e21,
  negative: -2.5e-300,
  nested: { a: [1, { b: 'ü', c: null, d: true }], 'ключ': 'значение 😀', empty: {}, list: [] },
};

const SHAPES: number[][] = [[], [1], [13], [3, 5], [2, 3, 4], [0, 5], [5, 0], [1, 1, 1], [3, 3]];

/** Every dtype in every shape, filled with edge values (helpers' edgeCases), each with its own metadata. */
const arrays = DTYPES.flatMap((dtype) => SHAPES.map((shape, i) => {
  const array = edgeCases(dtype, shape);
  array.meta = i % 2 ? { ...META, frame: i } : { shape: `${dtype} [${shape.join(' × ')}]` };
  return array;
}));

/** The values of an array as float64 (float16 through the SDK's half decoding). */
const valuesOf = (array: NDArray) => Float64Array.from(array.values());

function expectSameArray(described: Described, array: NDArray, what: string, meta = true) {
  expect(described.kind, what).toBe('ndarray');
  expect([described.dtype, described.shape], what).toEqual([array.dtype, array.shape]);
  expect(byteDifference(bytesOf(described.raw!), new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)), `${what}: raw values`).toBeUndefined();
  expect(firstDifference(float64Of(described.float64!), valuesOf(array)), `${what}: values as numbers`).toBeUndefined();
  if (meta) expect(revive(described.meta), what).toEqual(array.meta);
}

/**
 * An apache-arrow table of these batches. apache-arrow's builders allocate bitmaps (validity, bools) in 64-byte
 * blocks and its writer writes them whole; with `exact`, every buffer is cut to what its rows need, as emflow_sdk
 * writes them (and as apache-arrow writes a table it read from such bytes).
 */
function tableOf(schema: Schema, batches: Record<string, unknown[]>[], exact = true): Table {
  const bitmapBytes = (n: number) => Math.ceil(n / 8);
  const cut = (data: Data): Data =>
    makeData({
      type: data.type,
      length: data.length,
      nullCount: data.nullCount,
      nullBitmap: data.nullCount ? data.nullBitmap!.subarray(0, bitmapBytes(data.length)) : undefined,
      valueOffsets: data.valueOffsets?.subarray(0, data.length + 1),
      data: data.type instanceof Bool ? data.values.subarray(0, bitmapBytes(data.length)) : data.type instanceof Utf8 ? data.values.subarray(0, data.valueOffsets[data.length]) : data.values.subarray(0, data.length),
    } as never);
  return new Table(
    schema,
    batches.map((columns) => {
      const length = Object.values(columns)[0].length;
      const children = schema.fields.map((f) => vectorFromArray(columns[f.name] as never[], f.type as DataType).data[0]).map((d) => (exact ? cut(d) : d));
      return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
    }),
  );
}

const SCHEMA = new Schema(
  [
    new Field('i8', new Int8(), false),
    new Field('u8', new Uint8(), false),
    new Field('i16', new Int16(), false),
    new Field('u16', new Uint16(), false),
    new Field('i32', new Int32(), true),
    new Field('u32', new Uint32(), false),
    new Field('i64', new Int64(), false),
    new Field('f16', new Float16(), false),
    new Field('f32', new Float32(), false),
    new Field('f64', new Float64(), true, new Map([['units', 'Å']])),
    new Field('name', new Utf8(), true),
    new Field('flag', new Bool(), true),
    new Field('note', new Utf8(), true),
  ],
  new Map([['origin', 'apache-arrow, in a test']]),
);
const ROWS: Record<string, unknown[]>[] = [
  {
    i8: [-128, 127, 0, -1, 5],
    u8: [0, 255, 1, 128, 7],
    i16: [-32768, 32767, 0, -2, 300],
    u16: [0, 65535, 1, 40000, 2],
    i32: [-(2 ** 31), null, 2 ** 31 - 1, 0, -7],
    u32: [0, 2 ** 32 - 1, 1, 3_000_000_000, 9],
    i64: [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n],
    f16: [0.5, -0, 65504, -Infinity, NaN],
    f32: [Math.fround(0.1), -0, 3e38, NaN, Infinity],
    f64: [0.1, null, -0, 1e-300, NaN],
    name: ['a', 'é', '', null, 'tab\tnewline\n 😀'],
    flag: [true, false, null, true, false],
    note: ['no', 'nulls', 'in', 'this', 'batch'],
  },
  {
    i8: [1], u8: [2], i16: [3], u16: [4], i32: [null], u32: [6], i64: [7n], f16: [1], f32: [2], f64: [3], name: ['only'], flag: [null], note: [null],
  },
  {
    i8: [9, 10, 11], u8: [12, 13, 14], i16: [15, 16, 17], u16: [18, 19, 20], i32: [21, 22, 23], u32: [24, 25, 26], i64: [27n, 28n, 29n],
    f16: [0.25, 0.75, 2], f32: [1.5, 2.5, 3.5], f64: [Infinity, -Infinity, 0], name: ['x', 'yy', 'zzz'], flag: [false, false, true], note: ['p', null, 'q'],
  },
];

/** A cell as the Python side reports it, to compare with apache-arrow's `get`. */
function cellsOf(column: NonNullable<Described['columns']>[number]): unknown[] {
  if (column.type === 'utf8' || column.type === 'bool') return column.values!;
  const bytes = Buffer.from(column.data!, 'base64');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const typed = {
    int8: () => new Int8Array(buffer), uint8: () => new Uint8Array(buffer), int16: () => new Int16Array(buffer), uint16: () => new Uint16Array(buffer),
    int32: () => new Int32Array(buffer), uint32: () => new Uint32Array(buffer), int64: () => new BigInt64Array(buffer),
    float16: () => Array.from(new Uint16Array(buffer), halfValue), float32: () => new Float32Array(buffer), float64: () => new Float64Array(buffer),
  }[column.type]!();
  return Array.from(typed as ArrayLike<unknown>, (v, i) => (column.mask?.[i] ? null : v));
}

/** IEEE half bits → number, written here from the format (not the SDK's halfToNumber). */
function halfValue(bits: number): number {
  const sign = bits >> 15 ? -1 : 1;
  const exponent = (bits >> 10) & 31;
  const fraction = bits & 1023;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return exponent ? sign * 2 ** (exponent - 15) * (1 + fraction / 1024) : sign * 2 ** -14 * (fraction / 1024);
}

/** The cells of an apache-arrow table by column (Float16 as numbers, Int64 as bigints, nulls as null). */
function tableCells(t: Table): Record<string, unknown[]> {
  return Object.fromEntries(
    t.schema.fields.map((f) => {
      const column = t.getChild(f.name)!;
      return [f.name, Array.from({ length: t.numRows }, (_, i) => column.get(i) as unknown)];
    }),
  );
}

function expectSameCells(actual: unknown[], expected: unknown[], what: string) {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => expect(Object.is(a, expected[i]) || a === expected[i], `${what} row ${i}: ${String(a)}, expected ${String(expected[i])}`).toBe(true));
}

/** An encapsulated IPC message, as apache-arrow and the SDKs frame it. */
function framed(message: Message): Uint8Array {
  const flatbuffer = Message.encode(message);
  const size = Math.ceil((flatbuffer.byteLength + 8) / 8) * 8;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setInt32(0, -1, true);
  new DataView(out.buffer).setInt32(4, size - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

/** Bytes with `from` (ASCII, same length) replaced by `to` once. */
function patched(bytes: Uint8Array, from: string, to: string): Uint8Array {
  expect(to.length).toBe(from.length);
  const at = Buffer.from(bytes).indexOf(from);
  expect(at).toBeGreaterThan(0);
  const out = Uint8Array.from(bytes);
  out.set(Buffer.from(to), at);
  return out;
}

function tsRefuses(bytes: Uint8Array): string {
  try {
    decodeFrame(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(FrameError);
    return (error as Error).message;
  }
  throw new Error('the TypeScript SDK decoded it');
}

describe.each(interpreters)('emflow_sdk codec (%s)', (interpreter) => {
  it('decodes arrays of every dtype and shape written by the TypeScript SDK to the same values, read-only, and writes the same bytes again', () => {
    const encoded = arrays.map((a) => encodeFrame(a));
    const answer = ask(interpreter, { decode: encoded.map(b64) });
    expect(answer.decode).toHaveLength(arrays.length);
    arrays.forEach((array, i) => {
      const what = `${array.dtype} [${array.shape.join(', ')}]`;
      const decoded = decodedOk(answer.decode![i], what);
      expectSameArray(decoded, array, what);
      expect(decoded.writeable, `${what}: a read-only view`).toBe(false);
      expect(byteDifference(bytesOf(decoded.reencoded), encoded[i]), `${what}: encoded again`).toBeUndefined();
    });
  });

  it('writes arrays of every dtype and shape with the bytes the TypeScript SDK writes, which decode to the same values', () => {
    const answer = ask(interpreter, {
      encode: arrays.map((a) => ({ kind: 'ndarray', dtype: a.dtype, shape: a.shape, data: b64(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)), meta: a.meta })),
    });
    arrays.forEach((array, i) => {
      const what = `${array.dtype} [${array.shape.join(', ')}]`;
      const entry = answer.encode![i];
      if ('error' in entry) throw new Error(`${what}: ${entry.error}\n${entry.traceback}`);
      const bytes = bytesOf(entry.bytes);
      expect(byteDifference(bytes, encodeFrame(array)), what).toBeUndefined();
      const back = decodeFrame(bytes) as NDArray;
      expect([back.dtype, back.shape, back.meta], what).toEqual([array.dtype, array.shape, array.meta]);
      expect(firstDifference(valuesOf(back), valuesOf(array)), what).toBeUndefined();
      expect(byteDifference(encodeFrame(back), bytes), `${what}: encoded again`).toBeUndefined();
    });
  });

  it('writes and reads a stream of one dtype and shape as the TypeScript SDK does when only the characters of its metadata text change, and not when other header bytes do', () => {
    // 'ab', 'é' and 'ж' are each two bytes of UTF-8: the metadata text of every frame has the same length in bytes
    const stream = ['ab', 'é', 'ж', 'zz'].flatMap((note, k) => [10, 11, 12].map((frame) => {
      const array = edgeCases('float32', [3, 4]);
      array.data[0] = 100 * k + frame;
      array.meta = { frame, note };
      return array;
    }));
    const canonical = stream.map((a) => encodeFrame(a));
    const hostile = [
      patched(canonical[0], '"shape":[3,4]', '"shape":[4,3]'), // a header byte outside the metadata text: a frame of another shape
      patched(canonical[1], '{"frame":11,"note":"ab"}', '"frame 11, note ab ...."'), // the same length, not an object
      canonical[2],
    ];
    const answer = ask(interpreter, {
      encode: stream.map((a) => ({ kind: 'ndarray', dtype: a.dtype, shape: a.shape, data: b64(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)), meta: a.meta })),
      decode: [...canonical, ...hostile].map(b64),
    });
    stream.forEach((array, i) => {
      const what = `frame ${i} (${JSON.stringify(array.meta)})`;
      const entry = answer.encode![i];
      if ('error' in entry) throw new Error(`${what}: ${entry.error}\n${entry.traceback}`);
      expect(byteDifference(bytesOf(entry.bytes), canonical[i]), `${what}: written`).toBeUndefined();
      expectSameArray(decodedOk(answer.decode![i], what), array, `${what}: read`);
    });
    const [reshaped, notAnObject, again] = answer.decode!.slice(stream.length);
    expectSameArray(decodedOk(reshaped, 'the reshaped frame'), decodeFrame(hostile[0]) as NDArray, 'the reshaped frame');
    expect(decodedOk(reshaped, 'the reshaped frame').shape).toEqual([4, 3]);
    expect(notAnObject).toMatchObject({ type: 'FrameError', error: expect.stringContaining('not a JSON object') });
    expect(tsRefuses(hostile[1])).toContain('not a JSON object');
    expectSameArray(decodedOk(again, 'a frame after them'), stream[2], 'a frame after them');
  });

  const VALUES: unknown[] = [
    0,
    -0,
    2.0,
    0.1,
    1e-7,
    1e21,
    -2.5e-300,
    Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    'control \u0000\u0001\u001f\u007f "quoted" back\\slash \b\f\n\r\t é ß 😀 \u2028\u2029 lone \ud800 and \udfff',
    { mean: 0.0288, std: 1.01, nested: { list: [1, 'two', null, true, false, [], {}], 'ключ': 'значение' } },
    { b: 1, 10: 2, 2: 3, a: 4 },
    [1, [2, [3, [4]]]],
    null,
    true,
    '',
  ];

  it('round-trips JSON frames in both directions with identical bytes', () => {
    const frames = VALUES.map((value, i) => json(value, i % 2 ? META : { frame: i }));
    const encoded = frames.map((f) => encodeFrame(f));
    const answer = ask(interpreter, { decode: encoded.map(b64), encode: frames.map((f) => ({ kind: 'json', value: f.value, meta: f.meta })) });
    frames.forEach((frame, i) => {
      const what = `JSON ${JSON.stringify(frame.value)}`;
      const decoded = decodedOk(answer.decode![i], what);
      expect(decoded.kind).toBe('json');
      // what JSON can say: -0 is written as 0
      expect(revive(decoded.value), what).toEqual(JSON.parse(JSON.stringify(frame.value)));
      expect(revive(decoded.meta), what).toEqual(frame.meta);
      expect(byteDifference(bytesOf(decoded.reencoded), encoded[i]), `${what}: decoded and encoded again`).toBeUndefined();
      const entry = answer.encode![i];
      if ('error' in entry) throw new Error(`${what}: ${entry.error}\n${entry.traceback}`);
      expect(byteDifference(bytesOf(entry.bytes), encoded[i]), `${what}: written by Python`).toBeUndefined();
    });
  });

  it('decodes tables written by apache-arrow (every primitive type, strings, bools, nulls, several batches) and writes them again', () => {
    const joinedRows = Object.fromEntries(SCHEMA.fields.map((f) => [f.name, ROWS.flatMap((r) => r[f.name])]));
    const meta = { title: 'rows', frame: 2, tiny: 1e-7 };
    const cases = [
      { what: 'one batch', frame: table(tableOf(SCHEMA, [ROWS[0]]), meta), again: table(tableOf(SCHEMA, [ROWS[0]]), meta) },
      // emflow_sdk's Table holds columns, not batches: it writes one batch, the bytes apache-arrow writes for the rows in one batch
      { what: 'three batches', frame: table(tableOf(SCHEMA, ROWS), meta), again: table(tableOf(SCHEMA, [joinedRows]), meta) },
      // bitmaps in apache-arrow's 64-byte blocks: emflow_sdk writes them cut to their rows (the bytes of the case above)
      { what: "three batches from apache-arrow's builders", frame: table(tableOf(SCHEMA, ROWS, false), meta), again: table(tableOf(SCHEMA, [joinedRows]), meta) },
    ];
    expect(cases[1].frame.table.batches).toHaveLength(3);
    const encoded = cases.map((c) => encodeFrame(c.frame));
    expect(encoded[2].length).toBeGreaterThan(encoded[1].length);
    const answer = ask(interpreter, { decode: encoded.map(b64) });
    cases.forEach(({ what, frame, again }, i) => {
      const decoded = decodedOk(answer.decode![i], what);
      expect([decoded.kind, decoded.rows, decoded.meta]).toEqual(['table', frame.table.numRows, meta]);
      expect(decoded.columns!.map((c) => c.name)).toEqual(SCHEMA.fields.map((f) => f.name));
      expect(decoded.columns!.map((c) => c.type)).toEqual(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float16', 'float32', 'float64', 'utf8', 'bool', 'utf8']);
      const cells = tableCells(frame.table);
      for (const column of decoded.columns!) expectSameCells(cellsOf(column), cells[column.name], `${what}, column ${column.name}`);
      expect(byteDifference(bytesOf(decoded.reencoded), encodeFrame(again)), `${what}: encoded again`).toBeUndefined();
    });
  });

  it("writes tables that apache-arrow reads to the same cells, with the bytes of apache-arrow's tableFromArrays", () => {
    const columns = [
      { name: 'x', type: 'float64', data: b64(new Uint8Array(new Float64Array([0, 0.1, -0, NaN, 1e300]).buffer)) },
      { name: 'n', type: 'int32', data: b64(new Uint8Array(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 1, -1]).buffer)) },
      { name: 'u', type: 'uint16', data: b64(new Uint8Array(new Uint16Array([0, 65535, 1, 2, 3]).buffer)) },
      { name: 'f', type: 'float32', data: b64(new Uint8Array(new Float32Array([1.5, Infinity, -Infinity, 0.25, 3]).buffer)) },
      { name: 'label', type: 'utf8', values: ['a', 'é', '', '😀', 'tab\t'] },
      { name: 'ok', type: 'bool', values: [true, false, true, true, false] },
      { name: 'masked', type: 'float64', data: b64(new Uint8Array(new Float64Array([1, 2, 3, 4, 5]).buffer)), mask: [false, true, false, false, true] },
      { name: 'masked_text', type: 'utf8', values: ['p', 'q', 'r', 's', 't'], mask: [true, false, false, true, false] },
    ];
    const meta = { title: 'from Python', frame: 0 };
    const numeric = { kind: 'table', columns: columns.slice(0, 4), meta };
    const answer = ask(interpreter, { encode: [numeric, { kind: 'table', columns, meta }] });
    const [plain, full] = answer.encode!.map((e) => {
      if ('error' in e) throw new Error(`${e.error}\n${e.traceback}`);
      return bytesOf(e.bytes);
    });
    const arrow = tableFromArrays({
      x: new Float64Array([0, 0.1, -0, NaN, 1e300]),
      n: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 1, -1]),
      u: new Uint16Array([0, 65535, 1, 2, 3]),
      f: new Float32Array([1.5, Infinity, -Infinity, 0.25, 3]),
    });
    expect(byteDifference(plain, encodeFrame(table(arrow, meta)))).toBeUndefined();

    const back = decodeFrame(full) as TableFrame;
    expect(back.kind).toBe('table');
    expect(back.meta).toEqual(meta);
    const cells = tableCells(back.table);
    expectSameCells(cells.x, [0, 0.1, -0, NaN, 1e300], 'x');
    expectSameCells(cells.n, [-(2 ** 31), 2 ** 31 - 1, 0, 1, -1], 'n');
    expectSameCells(cells.label, ['a', 'é', '', '😀', 'tab\t'], 'label');
    expectSameCells(cells.ok, [true, false, true, true, false], 'ok');
    expectSameCells(cells.masked, [1, null, 3, 4, null], 'masked');
    expectSameCells(cells.masked_text, [null, 'q', 'r', null, 't'], 'masked_text');
    expect(byteDifference(encodeFrame(back), full), 'encoded again by the TypeScript SDK').toBeUndefined();
  });

  it('builds frames from numpy results, numpy scalars and Python floats that the TypeScript SDK reads and writes identically', () => {
    const answer = ask(interpreter, { native: true });
    for (const entry of answer.native!) {
      if (entry.error) throw new Error(`${entry.name}: ${entry.error}\n${entry.traceback}`);
      const bytes = bytesOf(entry.bytes!);
      const frame = decodeFrame(bytes);
      expect(byteDifference(encodeFrame(frame), bytes), `${entry.name}: encoded again by the TypeScript SDK`).toBeUndefined();
      // metadata as Python held it (2.0, NaN, numpy scalars) is checked below, as JavaScript reads it
      if (frame.kind === 'ndarray') expectSameArray(entry.expect!, frame, entry.name, false);
      if (frame.kind === 'table') {
        const cells = tableCells(frame.table);
        for (const column of entry.expect!.columns!) expectSameCells(cells[column.name], cellsOf(column), `${entry.name}, column ${column.name}`);
      }
    }
    const byName = Object.fromEntries(answer.native!.map((e) => [e.name, decodeFrame(bytesOf(e.bytes!))]));
    // JavaScript's JSON: 2.0 is 2, NaN is null, integer-like keys first in ascending order; 2 ** 64 as the nearest double
    expect((byName['linspace float32 with metadata'] as NDArray).meta).toEqual({
      pixelSize: [1.06, 0.5], units: 'Å', source: '/data/mic_0001.mrc', two: 2, tiny: 1e-7, tenth: 0.1, huge: 1e21, bigInt: 2 ** 64, np64: 1e-7, npInt: -5,
      npBool: true, negZero: 0, nan: null, text: 'tab\tnewline\n\u0001 quote" backslash\\ é 😀 \u2028',
      nested: { b: [1, 2.5, null, null], order: { 2: 3, 10: 2, b: 1, a: 4, '-1': 5, '01': 6 } },
    });
    const text = Buffer.from(encodeFrame(byName['linspace float32 with metadata'])).toString('utf8');
    expect(text).toContain('"order":{"2":3,"10":2,"b":1,"a":4,"-1":5,"01":6}');
    expect((byName['json: numpy scalars in an object'] as JsonFrame).value).toEqual({ mean: Math.fround(0.1), sum: 2, n: 7, ok: false, v: [0, 1, 2] });
    expect((byName['json: a float32 scalar'] as JsonFrame).value).toBe(1.5);
    expect((byName['json: a string with control characters'] as JsonFrame).value).toBe('a\u0000b\u001fc\u007f\u2029 é 😀 \ud800');
    const transposed = byName['a transposed (non-contiguous) int16 view'] as NDArray;
    expect([transposed.shape, Array.from(transposed.data)]).toEqual([[4, 3], [-6, -2, 2, -5, -1, 3, -4, 0, 4, -3, 1, 5]]);
  });

  it('refuses hostile frames with a clear FrameError, as the TypeScript SDK does', () => {
    const image = encodeFrame(new NDArray(new Float32Array(12).map((_, i) => i), [3, 4], { frame: 0 }));
    const schemaEnd = 8 + new DataView(image.buffer, image.byteOffset).getInt32(4, true);
    const wrongMarker = Uint8Array.from(image);
    wrongMarker.set([0xfe, 0xff, 0xff, 0xff], 0);
    const int64Tensor = (() => {
      const type = new FixedSizeList(2, new Field('item', new Int64(), false));
      const extension = new Map([['ARROW:extension:name', 'arrow.fixed_shape_tensor'], ['ARROW:extension:metadata', '{"shape":[2]}']]);
      const schema = new Schema([new Field('data', type, false, extension)], new Map([['emflow.kind', 'ndarray'], ['emflow.meta', '{}']]));
      return tableToIPC(tableOf(schema, [{ data: [new BigInt64Array([1n, 2n])] }], false), 'stream');
    })();
    const withMetadata = (metadata: [string, string][]) =>
      tableToIPC(new Table(new Schema([new Field('value', new Utf8(), false)], new Map(metadata)), [makeData({ type: new Struct([new Field('value', new Utf8(), false)]), length: 1, nullCount: 0, children: [vectorFromArray(['1'], new Utf8()).data[0]] })].map((d) => new RecordBatch(new Schema([new Field('value', new Utf8(), false)], new Map(metadata)), d))), 'stream');
    const compressed = (() => {
      const header = new RecordBatchHeader(1, [new FieldNode(1, 0), new FieldNode(12, 0)], [new BufferRegion(0, 0), new BufferRegion(0, 0), new BufferRegion(0, 48)], new BodyCompression(CompressionType.LZ4_FRAME));
      const batch = framed(Message.from(header, 48));
      return Buffer.concat([image.subarray(0, schemaEnd), batch, new Uint8Array(48), new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0])]);
    })();
    // a batch whose body length is minus its own size: the next message would start where this one does
    const looping = (() => {
      const header = () => new RecordBatchHeader(1, [new FieldNode(1, 0), new FieldNode(12, 0)], [new BufferRegion(0, 0), new BufferRegion(0, 0), new BufferRegion(0, 48)], null);
      const size = framed(Message.from(header(), -1)).length;
      return Buffer.concat([image.subarray(0, schemaEnd), framed(Message.from(header(), -size)), new Uint8Array(56)]);
    })();
    // [what, bytes, Python's FrameError, whether the TypeScript SDK refuses it too]
    const cases: [string, Uint8Array, RegExp, boolean?][] = [
      ['empty', new Uint8Array(0), /does not start with a schema/],
      ['truncated in the schema', image.subarray(0, 100), /runs past the end|does not start with a schema/],
      ['truncated in the record batch header', image.subarray(0, schemaEnd + 20), /runs past the end/],
      ['truncated in the values', image.subarray(0, image.length - 20), /runs past the end/],
      ['without its batch', image.subarray(0, schemaEnd), /expected 1 batch, got 0/],
      ['a wrong continuation marker', wrongMarker, /no continuation marker at byte 0|does not start with a schema/],
      ['a shape that does not match the values', patched(image, '"shape":[3,4]', '"shape":[4,4]'), /shape \[4, 4\] has 16 elements, the list holds 12/],
      ['a negative shape', patched(image, '"shape":[3,4]', '"shape":[-3,4'), /not a JSON object|no valid "shape"/],
      ['int64 elements', int64Tensor, /element type Int64 is not supported/],
      ['an unknown emflow.kind', withMetadata([['emflow.kind', 'weird'], ['emflow.meta', '{}']]), /unknown frame kind "weird"/],
      ['emflow.meta an array', withMetadata([['emflow.kind', 'json'], ['emflow.meta', '[1,2]']]), /emflow\.meta is not a JSON object/],
      ['emflow.meta a string', withMetadata([['emflow.kind', 'json'], ['emflow.meta', '"text"']]), /emflow\.meta is not a JSON object/],
      ['emflow.meta not JSON', withMetadata([['emflow.kind', 'json'], ['emflow.meta', '{frame: 1}']]), /emflow\.meta is not a JSON object/],
      ['a json frame whose value is not JSON', withMetadata([['emflow.kind', 'json'], ['emflow.meta', '{}']]).map((b, i, all) => (i === Buffer.from(all).lastIndexOf('1') ? 0x7b : b)), /value is not valid JSON/],
      ['a compressed record batch', compressed, /compressed record batches are not supported/],
      // the TypeScript SDK reads these: its tensor reader ignores the body length, apache-arrow reads any table
      ['a body length leading back to its own message', looping, /body of -\d+ bytes at byte \d+ runs past the end/, false],
      ['a dictionary-encoded column', tableToIPC(tableFromArrays({ label: ['a', 'b', 'a'] }), 'stream'), /dictionary-encoded fields are not supported/, false],
      ['a List column', tableToIPC(new Table({ list: vectorFromArray([[1, 2], [3]], new List(new Field('item', new Int32(), true))) }), 'stream'), /table column 'list' is List: emflow_sdk reads tables of integer, floating-point, Bool and Utf8 columns only/, false],
      ['a Date column', tableToIPC(new Table({ day: vectorFromArray([new Date(0)], new DateDay()) }), 'stream'), /table column 'day' is Date: emflow_sdk reads tables of integer, floating-point, Bool and Utf8 columns only/, false],
    ];
    const answer = ask(interpreter, { decode: cases.map(([, bytes]) => b64(bytes)) });
    cases.forEach(([what, bytes, message, typescriptRefuses = true], i) => {
      const outcome = answer.decode![i];
      expect('error' in outcome ? outcome : { decoded: outcome }, what).toMatchObject({ type: 'FrameError' });
      expect((outcome as { error: string }).error, what).toMatch(message);
      if (typescriptRefuses) tsRefuses(bytes);
    });
  });

  it('decodes 2000 random mutations of valid frames to a frame or a FrameError, never a crash or a hang', () => {
    const frames = [
      encodeFrame(new NDArray(new Float32Array(24).map((_, i) => i / 3), [2, 3, 4], META)),
      encodeFrame(edgeCases('int16', [5, 3])),
      encodeFrame(edgeCases('float16', [])),
      encodeFrame(json({ mean: 0.5, list: [1, 'é', null] }, { frame: 1 })),
      encodeFrame(table(tableOf(SCHEMA, ROWS), { frame: 0 })),
    ];
    const answer = ask(interpreter, { fuzz: { seed: 20240611, count: 2000, frames: frames.map(b64) } });
    const crashes = answer.fuzz!.crashes.map((c) => `mutation ${c.mutation} (${c.stage}): ${c.error}\n${c.traceback ?? ''}`);
    expect(crashes).toEqual([]);
    expect(answer.fuzz!.runs).toBe(2000);
    expect(answer.fuzz!.outcomes.decoded + answer.fuzz!.outcomes.FrameError).toBe(2000);
    expect(answer.fuzz!.outcomes.FrameError).toBeGreaterThan(200);
    expect(answer.fuzz!.outcomes.decoded).toBeGreaterThan(200);
  });
});

it('finds a Python with numpy to test against', () => {
  expect(interpreters.length).toBeGreaterThan(0);
});
