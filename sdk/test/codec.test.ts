// Frames through Arrow IPC: every dtype round-trips, arrays are written in place and read as views,
// the layout is Arrow's canonical fixed_shape_tensor, and broken bytes are refused with a clear message.
import { describe, expect, it, vi } from 'vitest';
import { Field, FixedSizeList, Float32, makeData, RecordBatch, Schema, Struct, Table, tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  decodeFrame,
  DTYPES,
  encodeFrame,
  encodeFrameInto,
  encodedSizeOf,
  FrameError,
  json,
  NDArray,
  slotBytesForArray,
  table,
  TENSOR_BODY_OFFSET,
  viewTyped,
  frameMismatch,
  halfToNumber,
} from '@emflow/sdk';

describe('N-D arrays', () => {
  it.each(DTYPES)('%s round-trips with shape, values and metadata', (dtype) => {
    const array = NDArray.zeros(dtype, [2, 3, 4], { pixelSize: [1.5, 1.5, 2], units: 'Å', source: 'x.mrc', frame: 7 });
    array.data.forEach((_, i) => (array.data[i] = (i * 3) % 100));
    const back = decodeFrame(encodeFrame(array)) as NDArray;
    expect([back.kind, back.dtype, back.shape]).toEqual(['ndarray', dtype, [2, 3, 4]]);
    expect(Array.from(back.data)).toEqual(Array.from(array.data));
    expect(back.meta).toEqual({ pixelSize: [1.5, 1.5, 2], units: 'Å', source: 'x.mrc', frame: 7 });
  });

  it('is a one-row FixedSizeList column with the canonical fixed_shape_tensor extension', () => {
    const bytes = encodeFrame(new NDArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]));
    const t = tableFromIPC(bytes);
    const field = t.schema.fields[0];
    expect(field.name).toBe('data');
    expect(field.type).toBeInstanceOf(FixedSizeList);
    expect((field.type as FixedSizeList).listSize).toBe(6);
    expect(String((field.type as FixedSizeList).children[0].type)).toBe('Float32');
    expect(field.metadata.get('ARROW:extension:name')).toBe('arrow.fixed_shape_tensor');
    expect(JSON.parse(field.metadata.get('ARROW:extension:metadata')!)).toEqual({ shape: [2, 3] });
    expect(t.numRows).toBe(1);
    expect(Array.from(t.getChildAt(0)!.get(0)!)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  /** A float32 array frame as Arrow's own IPC writer writes it (the reference for the SDK's bytes). */
  function arrowsBytes(values: Float32Array, shape: number[], meta: object): Uint8Array {
    const size = shape.reduce((a, b) => a * b, 1);
    const listType = new FixedSizeList(size, new Field('item', new Float32(), false));
    const extension = new Map([
      ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
      ['ARROW:extension:metadata', JSON.stringify({ shape })],
    ]);
    const schema = new Schema([new Field('data', listType, false, extension)], new Map([['emflow.kind', 'ndarray'], ['emflow.meta', JSON.stringify(meta)]]));
    const list = makeData({ type: listType, length: 1, nullCount: 0, child: makeData({ type: new Float32(), length: size, nullCount: 0, data: values }) });
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children: [list] }));
    return tableToIPC(new Table(batch), 'stream');
  }

  it('is byte for byte what Arrow\'s own IPC writer produces for the same table', () => {
    const values = Float32Array.of(1.5, -2, 3, 4, 5, 6);
    const meta = { units: 'Å', frame: 2 };
    expect(Buffer.from(encodeFrame(new NDArray(values, [2, 3], meta)))).toEqual(Buffer.from(arrowsBytes(values, [2, 3], meta)));
  });

  it('a stream of one shape whose metadata texts differ only in characters: each frame is what Arrow writes and reads back with its own metadata; other header bytes are not taken for the stream\'s', () => {
    // 'ab', 'é' and 'ж' are each two bytes of UTF-8: the metadata text of every frame has the same length
    const frames = ['ab', 'é', 'ж', 'zz'].flatMap((note, k) => [10, 11, 12].map((frame) => ({ values: Float32Array.of(k, frame, 3, 4, 5, 6), meta: { frame, note } })));
    for (const { values, meta } of frames) {
      const bytes = encodeFrame(new NDArray(values.slice(), [2, 3], meta));
      expect(Buffer.from(bytes), JSON.stringify(meta)).toEqual(Buffer.from(arrowsBytes(values, [2, 3], meta)));
      const back = decodeFrame(bytes) as NDArray;
      expect([back.shape, Array.from(back.data), back.meta], JSON.stringify(meta)).toEqual([[2, 3], Array.from(values), meta]);
    }
    // after those frames: the same bytes but for the shape, and but for a metadata text that is no object
    const reshaped = arrowsBytes(Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2], { frame: 13, note: 'zz' });
    expect((decodeFrame(reshaped) as NDArray).shape).toEqual([3, 2]);
    decodeFrame(encodeFrame(new NDArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], { frame: 14, note: 'zz' })));
    const notAnObject = arrowsBytes(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], { frame: 14, note: 'zz' });
    const text = Buffer.from(JSON.stringify({ frame: 14, note: 'zz' }));
    const at = Buffer.from(notAnObject).indexOf(text);
    notAnObject.set(Buffer.from(JSON.stringify('x'.repeat(text.length - 2))), at);
    expect(() => decodeFrame(notAnObject)).toThrow(/emflow.meta is not a JSON object/);
  });

  it('a frame that differs from the layout of the stream read last anywhere but in its metadata text is read in full, with the same result as a reader that never saw that stream', async () => {
    // the oracle: a second instance of the SDK, whose last array frames read are always of another dtype and shape
    vi.resetModules();
    const oracle = await import('@emflow/sdk');
    const unrelated = [1, 2, 3, 4, 5].map((n) => oracle.encodeFrame(new oracle.NDArray(new Float64Array(n), [n], { other: true })));
    const outcome = (decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array) => {
      try {
        const f = decode(bytes) as NDArray;
        return { dtype: f.dtype, shape: f.shape, values: Array.from(f.data), meta: f.meta };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    const meta = { frame: 1, note: 'zz' };
    const canonical = encodeFrame(new NDArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], meta));
    const metaAt = Buffer.from(canonical).indexOf(JSON.stringify(meta));
    const metaEnd = metaAt + JSON.stringify(meta).length;
    const bodyStart = canonical.length - 8 - 24;
    const cases: [string, Uint8Array][] = [];
    for (let i = 0; i < canonical.length; i++) {
      if ((i >= metaAt && i < metaEnd) || (i >= bodyStart && i < canonical.length - 8)) continue;
      const flipped = canonical.slice();
      flipped[i] ^= 1;
      cases.push([`byte ${i} flipped`, flipped]);
    }
    const invalidText = canonical.slice();
    invalidText[metaEnd - 3] = 0xff; // inside "zz": not UTF-8
    cases.push(['a metadata text that is not UTF-8', invalidText]);
    // a second record batch (and its values) where the end marker was: a second row
    const batchStart = 8 + Buffer.from(canonical).readInt32LE(4);
    cases.push(['a second batch', Uint8Array.from([...canonical.subarray(0, canonical.length - 8), ...canonical.subarray(batchStart)])]);
    const misaligned = new Uint8Array(canonical.length + 1).subarray(1);
    misaligned.set(canonical);
    cases.push(['the frame at an odd address', misaligned]);
    for (const [what, bytes] of cases) {
      decodeFrame(canonical); // the stream's layout, read last
      for (const frame of unrelated) oracle.decodeFrame(frame);
      expect(outcome(decodeFrame, bytes), what).toEqual(outcome(oracle.decodeFrame, bytes));
    }
  });

  it('leaves values written into a slot where they are and reads them back as a view of the same memory', () => {
    const slot = new Uint8Array(slotBytesForArray('float32', [64, 64]));
    const values = viewTyped('float32', slot.buffer, TENSOR_BODY_OFFSET, 64 * 64) as Float32Array;
    values.forEach((_, i) => (values[i] = i / 7));
    const before = Float32Array.from(values);
    const placed = encodeFrameInto(new NDArray(values, [64, 64]), slot)!;
    expect(placed.offset + placed.length).toBeLessThanOrEqual(slot.byteLength);
    expect(placed.offset % 8).toBe(0);
    const back = decodeFrame(slot.subarray(placed.offset, placed.offset + placed.length)) as NDArray;
    expect(back.data.buffer).toBe(slot.buffer);
    expect(back.data.byteOffset).toBe(TENSOR_BODY_OFFSET);
    expect(Array.from(back.data)).toEqual(Array.from(before));
  });

  it('copies values that live elsewhere behind the header, and reports a slot that is too small', () => {
    const array = new NDArray(Float64Array.of(1, 2, 3), [3]);
    const slot = new Uint8Array(encodedSizeOf(array));
    const placed = encodeFrameInto(array, slot)!;
    expect(Array.from((decodeFrame(slot.subarray(placed.offset, placed.offset + placed.length)) as NDArray).data)).toEqual([1, 2, 3]);
    expect(encodeFrameInto(new NDArray(new Float32Array(1000), [1000]), new Uint8Array(2000))).toBeUndefined();
  });

  it('carries float16 as raw half bits and widens them on request', () => {
    const back = decodeFrame(encodeFrame(new NDArray(Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x0001), [4], {}, 'float16'))) as NDArray;
    expect(back.dtype).toBe('float16');
    expect(Array.from(back.values())).toEqual([1, -2, Infinity, 2 ** -24]);
    expect(halfToNumber(0x7e00)).toBeNaN();
  });

  it('handles empty and scalar-shaped arrays', () => {
    const empty = decodeFrame(encodeFrame(new NDArray(new Float32Array(0), [0, 5]))) as NDArray;
    expect([empty.shape, empty.size]).toEqual([[0, 5], 0]);
    const scalar = decodeFrame(encodeFrame(new NDArray(Int32Array.of(42), []))) as NDArray;
    expect([scalar.shape, Array.from(scalar.data)]).toEqual([[], [42]]);
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => new NDArray(new Float32Array(5), [2, 3])).toThrow('NDArray: shape [2, 3] needs 6 elements, data has 5');
    expect(() => new NDArray(new Float32Array(0), [-1, 0])).toThrow('must be non-negative integers');
  });
});

describe('tables and JSON values', () => {
  it('round-trip tables with their columns and frame metadata', () => {
    const t = tableFromArrays({ x: Float64Array.of(1.5, 2.5), y: Float64Array.of(3, 4), height: Float32Array.of(9, 8) });
    const back = decodeFrame(encodeFrame(table(t, { frame: 3 })));
    expect(back.kind).toBe('table');
    if (back.kind !== 'table') return;
    expect(back.table.schema.fields.map((f) => f.name)).toEqual(['x', 'y', 'height']);
    expect(Array.from(back.table.getChild('x')!.toArray())).toEqual([1.5, 2.5]);
    expect(back.meta).toEqual({ frame: 3 });
  });

  it('round-trip JSON values', () => {
    const back = decodeFrame(encodeFrame(json({ mean: 1.25, list: [1, 'two', null] }, { frame: 1 })));
    expect(back).toMatchObject({ kind: 'json', value: { mean: 1.25, list: [1, 'two', null] }, meta: { frame: 1 } });
  });

  it('refuses a value that is not JSON', () => {
    expect(() => encodeFrame(json(undefined))).toThrow('json frame: value is not JSON-serialisable');
  });
});

describe('broken bytes', () => {
  it('are not an Arrow stream', () => {
    expect(() => decodeFrame(new TextEncoder().encode('hello, this is not arrow'))).toThrow(FrameError);
    expect(() => decodeFrame(new Uint8Array(3))).toThrow(/not an Arrow IPC stream|no schema fields/);
  });

  it('a tensor whose shape disagrees with its list size', () => {
    const bytes = encodeFrame(new NDArray(new Float32Array(6), [2, 3]));
    // same length, so every offset in the stream stays valid: only the declared shape lies
    const patched = Buffer.from(Buffer.from(bytes).toString('latin1').replace('{"shape":[2,3]}', '{"shape":[3,3]}'), 'latin1');
    expect(() => decodeFrame(patched)).toThrow('array frame: shape [3, 3] has 9 elements, the list holds 6');
  });
});

describe('port types', () => {
  it('say why a frame does not fit', () => {
    const image = new NDArray(new Float32Array(6), [2, 3]);
    expect(frameMismatch(image, 'image2d')).toBeUndefined();
    expect(frameMismatch(image, 'ndarray')).toBeUndefined();
    expect(frameMismatch(image, 'volume3d')).toBe('expected volume3d (a 3-D array), got a 2-D array');
    expect(frameMismatch(json(1), 'scalar')).toBeUndefined();
    expect(frameMismatch(json('x'), 'scalar')).toBe('expected scalar (a number), got string');
    expect(frameMismatch(json(1), 'table')).toBe('expected table, got a json frame');
  });
});

describe('.npy files', () => {
  it('round-trip every dtype with shape, and name the file when broken', async () => {
    const { npyHeader, decodeNpy } = await import('@emflow/sdk');
    for (const dtype of DTYPES) {
      const array = NDArray.zeros(dtype, [3, 5]);
      array.data.forEach((_, i) => (array.data[i] = i));
      const header = npyHeader(array);
      expect(header.byteLength % 64).toBe(0);
      const file = Buffer.concat([header, Buffer.from(array.data.buffer)]);
      const back = decodeNpy(file, 'x.npy');
      expect([back.dtype, back.shape, Array.from(back.data)]).toEqual([dtype, [3, 5], Array.from(array.data)]);
    }
    expect(() => decodeNpy(Buffer.from('hello'), 'bad.npy')).toThrow('bad.npy: not a .npy file');
    const truncated = Buffer.concat([npyHeader({ dtype: 'float32', shape: [4] }), Buffer.alloc(8)]);
    expect(() => decodeNpy(truncated, 't.npy')).toThrow('t.npy: 136 bytes, expected 144 for shape (4) of <f4');
  });
});
