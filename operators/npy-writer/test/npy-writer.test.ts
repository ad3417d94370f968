import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTYPES, NDArray, type ProcessContext } from '@emflow/sdk';
import { edgeCases, firstDifference, readWithNumpy } from '../../../test/helpers.js';
import { NpyWriter } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-npy-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = (frame: number) => ({ node: 'save', frame, alloc: () => { throw new Error('a sink allocates nothing'); } }) as unknown as ProcessContext;

/** What numpy.load makes of a file: dtype, shape and the values as plain numbers. */
function loadWithNumpy(path: string) {
  const [{ dtype, shape, values }] = readWithNumpy(path);
  return { dtype, shape, values: Array.from(values) };
}

describe('npy-writer', () => {
  it('writes files numpy loads with the same dtype, shape and values', () => {
    const writer = new NpyWriter();
    const cases = [
      { name: 'int32', data: new NDArray(Int32Array.of(-(2 ** 31), -1, 0, 7, 2 ** 31 - 1, 5), [2, 3]) },
      { name: 'float64', data: new NDArray(Float64Array.from({ length: 24 }, (_, i) => i / 3 - 4), [2, 3, 4]) },
      { name: 'uint8', data: new NDArray(Uint8Array.of(0, 128, 255), [3]) },
    ];
    for (const { name, data } of cases) {
      const path = join(scratch, `${name}.npy`);
      writer.process({ data }, { path, overwrite: false }, context(0));
      expect(loadWithNumpy(path)).toEqual({ dtype: name, shape: [...data.shape], values: Array.from(data.data) });
    }
  });

  it('keeps every dtype and its edge cases (−0, NaN, ±Infinity, extremes) exactly', () => {
    const arrays = DTYPES.map((dtype) => {
      const data = edgeCases(dtype, [3, 7]);
      new NpyWriter().process({ data }, { path: join(scratch, 'dtypes', `${dtype}.npy`), overwrite: false }, context(0));
      return data;
    });
    const read = readWithNumpy(...DTYPES.map((dtype) => join(scratch, 'dtypes', `${dtype}.npy`)));
    DTYPES.forEach((dtype, i) => {
      expect([read[i].dtype, read[i].shape], dtype).toEqual([dtype, [3, 7]]);
      expect(firstDifference(read[i].values, arrays[i].values()), dtype).toBeUndefined();
    });
  });

  it('keeps float16 as float16', () => {
    const half = new NDArray(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x3555), [2, 2], {}, 'float16'); // 1, -2, 65504, ≈1/3
    const path = join(scratch, 'half.npy');
    new NpyWriter().process({ data: half }, { path, overwrite: false }, context(0));
    expect(loadWithNumpy(path)).toEqual({ dtype: 'float16', shape: [2, 2], values: Array.from(half.values()) });
  });

  it('names files by meta.frame and refuses to overwrite unless asked', () => {
    const writer = new NpyWriter();
    const data = new NDArray(Float32Array.of(1, 2), [2], { frame: 12 });
    const path = join(scratch, 'frames', 'frame-{frame:04d}.npy');
    writer.process({ data }, { path, overwrite: false }, context(0));
    expect(loadWithNumpy(join(scratch, 'frames', 'frame-0012.npy')).values).toEqual([1, 2]);
    expect(() => writer.process({ data }, { path, overwrite: false }, context(0))).toThrow(/^npy-writer: .*frame-0012\.npy exists/);
    const replacement = new NDArray(Float32Array.of(3, 4), [2], { frame: 12 });
    writer.process({ data: replacement }, { path, overwrite: true }, context(0));
    expect(loadWithNumpy(join(scratch, 'frames', 'frame-0012.npy')).values).toEqual([3, 4]);
  });
});
