// Binary display messages, encoded by hand in the layout protocol.ts documents, decoded by the editor.
import type { DisplayHeader } from '@emflow/engine/protocol';
import { describe, expect, it } from 'vitest';
import { decodeDisplayMessage } from '../src/api/display-decode';

/** u32 LE header length, UTF-8 JSON, zero padding to a multiple of 8, payload */
function encode(header: DisplayHeader, payload?: Float32Array | Float64Array): ArrayBuffer {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((4 + json.length) / 8) * 8;
  const bytes = new Uint8Array(start + (payload?.byteLength ?? 0));
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  if (payload) bytes.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), start);
  return bytes.buffer;
}

describe('display message decoding', () => {
  it('decodes an image: header (non-ASCII text included) and Float32 pixels', () => {
    const pixels = Float32Array.from([0, 1.5, -2, NaN, Infinity, 6]);
    const header: DisplayHeader = {
      kind: 'image',
      node: 'vue—ß',
      run: 3,
      index: 7,
      params: { colormap: 'magma', contrast: 'manual', min: -1, max: 5 },
      width: 3,
      height: 2,
      source: { width: 6, height: 4 },
      dtype: 'uint16',
      min: -2,
      max: 9,
    };
    const m = decodeDisplayMessage(encode(header, pixels));
    expect(m.header).toEqual(header);
    expect('pixels' in m && Array.from(m.pixels)).toEqual(Array.from(pixels));
  });

  it('decodes a plot: x then each series, Float64 columns', () => {
    const x = [0, 1, 2, 3];
    const a = [1e-300, 2, 3, 4];
    const b = [-1, -2, 1e300, 0.1];
    const header: DisplayHeader = { kind: 'plot', node: 'p', run: 1, index: 0, params: { logY: true }, x: 'energy', series: ['a', 'b'], length: 4, sourceLength: 4000 };
    const m = decodeDisplayMessage(encode(header, Float64Array.from([...x, ...a, ...b])));
    expect(m.header).toEqual(header);
    expect('columns' in m && m.columns.map((c) => Array.from(c))).toEqual([x, a, b]);
  });

  it('decodes a table: everything in the header', () => {
    const header: DisplayHeader = { kind: 'table', node: 't', run: 2, index: 1, params: {}, columns: ['x', 'y'], numRows: 1000, rows: [[1, 'a'], [2, null]] };
    expect(decodeDisplayMessage(encode(header))).toEqual({ header });
  });

  it('refuses truncated messages instead of reading past them', () => {
    const header: DisplayHeader = { kind: 'image', node: 'i', run: 1, index: 0, params: {}, width: 4, height: 4, source: { width: 4, height: 4 }, dtype: 'float32', min: 0, max: 1 };
    const whole = encode(header, new Float32Array(16));
    expect(() => decodeDisplayMessage(whole.slice(0, whole.byteLength - 4))).toThrow(/payload of 60 bytes, expected 64/);
    expect(() => decodeDisplayMessage(whole.slice(0, 10))).toThrow(/header of/);
    expect(() => decodeDisplayMessage(new ArrayBuffer(2))).toThrow(/too short/);
  });
});
