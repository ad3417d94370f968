import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '@emflow/sdk';
import { belowZeroInto, binaryInto, clipInto, type ThresholdMode } from '../src/threshold.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as {
  name: string;
  input: string;
  params: { value: number; mode: ThresholdMode };
  expected: string;
}[];

function threshold(src: ArrayLike<number>, value: number, mode: ThresholdMode): Uint8Array | Float32Array {
  if (mode === 'binary') {
    const mask = new Uint8Array(src.length);
    binaryInto(src, value, mask);
    return mask;
  }
  const out = new Float32Array(src.length);
  if (mode === 'below-zero') belowZeroInto(src, value, out);
  else clipInto(src, value, out);
  return out;
}

describe('threshold vs numpy', () => {
  it('has the expected fixture set', () => {
    expect(cases).toHaveLength(24);
  });

  for (const { name, input, params, expected } of cases) {
    it(name, () => {
      // exact, dtype included (Uint8Array for binary, Float32Array otherwise); NaN equals NaN
      expect(threshold(readNpy(input).data, params.value, params.mode)).toEqual(readNpy(expected).data);
    });
  }
});

describe('threshold kernels', () => {
  const data = [NaN, -Infinity, -1, 0, 0.5, 1, Infinity];

  it('maps NaN to 0 in binary and below-zero, and keeps it in clip', () => {
    expect(Array.from(threshold(data, 0, 'binary'))).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(Array.from(threshold(data, 0, 'below-zero'))).toEqual([0, 0, 0, 0, 0.5, 1, Infinity]);
    expect(Array.from(threshold(data, 0.5, 'clip'))).toEqual([NaN, -Infinity, -1, 0, 0.5, 0.5, 0.5]);
  });

  it('compares float64 input at full precision', () => {
    expect(Array.from(threshold(Float64Array.of(Math.fround(0.1)), 0.1, 'binary'))).toEqual([1]);
    expect(Array.from(threshold(Float32Array.of(Math.fround(0.1)), 0.1, 'binary'))).toEqual([0]);
  });

  it('accepts empty input', () => {
    expect(threshold([], 1, 'binary')).toHaveLength(0);
  });

  it('rejects a NaN value and a dst of the wrong length', () => {
    expect(() => threshold([1], NaN, 'clip')).toThrow('threshold: value (NaN) must be a number');
    expect(() => binaryInto([1, 2], 0, new Uint8Array(1))).toThrow('threshold: dst length 1 does not equal src length 2');
  });
});
