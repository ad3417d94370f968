// .npy output files: the header the engine writes (npyHeader, from the SDK sources; engine/src/cli/outputs.ts
// imports it) and files NumPy itself loads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, npyHeader } from '@emflow/sdk';
import { NDArray } from '../../sdk/src/frames.js';
import type { DType } from '../../sdk/src/dtype.js';
import { writeOutputFrame } from '../src/cli/outputs.js';

const dir = mkdtempSync(join(tmpdir(), 'emflow-npy-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (header: Uint8Array) => Buffer.from(header).toString('latin1');

/** The header as NumPy writes it: magic, version 1.0, little-endian length, dict, spaces, newline. */
function expectedHeader(dict: string, total: number): string {
  const length = total - 10;
  return `\x93NUMPY\x01\x00${String.fromCharCode(length & 0xff, length >> 8)}${dict}${' '.repeat(total - 10 - dict.length - 1)}\n`;
}

/** Load `file` with NumPy; dtype, shape and values back as JSON. */
function numpyLoad(file: string): { dtype: string; shape: number[]; values: number[]; c: boolean } {
  const script = [
    'import json, sys, numpy',
    'a = numpy.load(sys.argv[1])',
    'print(json.dumps({"dtype": a.dtype.str, "shape": list(a.shape), "values": a.ravel().astype(float).tolist(), "c": bool(a.flags.c_contiguous)}))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as { dtype: string; shape: number[]; values: number[]; c: boolean };
}

/** numpy.save's own header for an array of this dtype and shape. */
function numpySaveHeader(descr: string, shape: number[]): string {
  const script = [
    'import io, sys, json, numpy',
    'b = io.BytesIO()',
    'numpy.save(b, numpy.zeros(tuple(json.loads(sys.argv[2])), dtype=sys.argv[1]))',
    'v = b.getvalue()',
    'n = int.from_bytes(v[8:10], "little")',
    'sys.stdout.write(v[:10 + n].hex())',
  ].join('\n');
  return Buffer.from(execFileSync('python3', ['-c', script, descr, JSON.stringify(shape)], { encoding: 'utf8' }), 'hex').toString('latin1');
}

const cases: { dtype: DType; shape: number[]; dict: string; descr: string; data: () => ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } }[] = [
  {
    dtype: 'float32',
    shape: [3, 4],
    descr: '<f4',
    dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
    data: () => Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1.25),
  },
  {
    dtype: 'int16',
    shape: [5],
    descr: '<i2',
    dict: "{'descr': '<i2', 'fortran_order': False, 'shape': (5,), }",
    data: () => Int16Array.from([-32768, -1, 0, 1, 32767]),
  },
  {
    dtype: 'uint8',
    shape: [2, 3, 4],
    descr: '|u1',
    dict: "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }",
    data: () => Uint8Array.from({ length: 24 }, (_, i) => (i * 11) % 256),
  },
];

describe('npyHeader', () => {
  it.each(cases)('$dtype $shape: 64-aligned, exact dict text', ({ dtype, shape, dict }) => {
    const header = npyHeader({ dtype, shape });
    expect(header.length % 64).toBe(0);
    expect(header.length).toBe(128);
    expect(text(header)).toBe(expectedHeader(dict, 128));
    expect(Buffer.from(header).readUInt16LE(8)).toBe(header.length - 10);
  });

  it.each(cases)('$dtype $shape: the same bytes as numpy.save', ({ dtype, shape, descr }) => {
    expect(text(npyHeader({ dtype, shape }))).toBe(numpySaveHeader(descr, shape));
  });

  it('writes a 0-d shape as ()', () => {
    const header = npyHeader({ dtype: 'float64', shape: [] });
    expect(text(header)).toBe(expectedHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 128));
    expect(text(header)).toBe(numpySaveHeader('<f8', []));
  });

  it('grows to the next multiple of 64 for long shapes', () => {
    const shape = [100000, 100000, 100000, 100000, 100000];
    const header = npyHeader({ dtype: 'float32', shape });
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000, 100000, 100000), }";
    expect(dict.length + 11).toBeGreaterThan(64);
    expect(header.length % 64).toBe(0);
    expect(text(header)).toBe(expectedHeader(dict, Math.ceil((dict.length + 11) / 64) * 64));
  });

  it.each(['int8', 'uint16', 'int32', 'uint32', 'float16', 'float64'] as const)('names %s the way NumPy does', (dtype) => {
    const descr = { int8: '|i1', uint16: '<u2', int32: '<i4', uint32: '<u4', float16: '<f2', float64: '<f8' }[dtype];
    expect(text(npyHeader({ dtype, shape: [2] }))).toContain(`'descr': '${descr}'`);
  });
});

describe('.npy round trip through NumPy', () => {
  it.each(cases)('$dtype $shape: NumPy loads header + data with the right dtype, shape and values', ({ dtype, shape, descr, data }) => {
    const values = data();
    const file = join(dir, `${dtype}.npy`);
    writeFileSync(file, Buffer.concat([npyHeader({ dtype, shape }), new Uint8Array(values.buffer, values.byteOffset, values.byteLength)]));
    const loaded = numpyLoad(file);
    expect(loaded).toEqual({ dtype: descr, shape, values: Array.from(values), c: true });
  });

  it('float16 travels as raw half bits and NumPy reads them as halves', () => {
    const file = join(dir, 'half.npy');
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0000]); // 1, -2, 0.5, 0
    writeFileSync(file, Buffer.concat([npyHeader({ dtype: 'float16', shape: [2, 2] }), new Uint8Array(bits.buffer)]));
    expect(numpyLoad(file)).toEqual({ dtype: '<f2', shape: [2, 2], values: [1, -2, 0.5, 0], c: true });
  });

  it('writeOutputFrame writes a .npy NumPy loads, from a view into a larger buffer', () => {
    const backing = Float32Array.from({ length: 20 }, (_, i) => i);
    const frame = new NDArray(backing.subarray(4, 10), [2, 3]);
    const path = writeOutputFrame(join(dir, 'out'), { node: 'blur', port: 'image', index: 7, frame } as Parameters<typeof writeOutputFrame>[1]);
    expect(path).toBe(join(dir, 'out', 'blur.image.7.npy'));
    expect(numpyLoad(path)).toEqual({ dtype: '<f4', shape: [2, 3], values: [4, 5, 6, 7, 8, 9], c: true });
    const back = decodeNpy(readFileSync(path));
    expect(back.dtype).toBe('float32');
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('decodeNpy reads what numpy.save writes', () => {
    const file = join(dir, 'from-numpy.npy');
    execFileSync('python3', ['-c', 'import sys, numpy; numpy.save(sys.argv[1], numpy.arange(6, dtype="<i4").reshape(3, 2) - 3)', file]);
    const array = decodeNpy(readFileSync(file));
    expect(array.dtype).toBe('int32');
    expect(array.shape).toEqual([3, 2]);
    expect(Array.from(array.data)).toEqual([-3, -2, -1, 0, 1, 2]);
  });
});
