import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '@emflow/sdk';
import { checkSameShape, differenceInto } from '../src/difference.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as { name: string; a: string; b: string; expected: string }[];

describe('difference vs numpy (float64 subtraction, rounded to float32)', () => {
  it('has the expected fixture set', () => {
    expect(cases.map((c) => c.name)).toEqual(['float32', 'uint16_3x2x4', 'int16_minus_float64']);
  });

  for (const { name, a, b, expected } of cases) {
    it(name, () => {
      const minuend = readNpy(a);
      const subtrahend = readNpy(b);
      checkSameShape(minuend.shape, subtrahend.shape);
      const dst = new Float32Array(minuend.size);
      differenceInto(minuend.data, subtrahend.data, dst);
      expect(dst).toEqual(readNpy(expected).data);
    });
  }
});

describe('difference', () => {
  it('does not wrap unsigned integers and propagates NaN and infinities', () => {
    const dst = new Float32Array(4);
    differenceInto(Uint16Array.of(0, 1, 5, 0), Float64Array.of(1, NaN, Infinity, -0), dst);
    expect(Array.from(dst)).toEqual([-1, NaN, -Infinity, 0]);
  });

  it('accepts empty arrays of the same shape', () => {
    expect(() => checkSameShape([0, 5], [0, 5])).not.toThrow();
    expect(() => differenceInto([], [], new Float32Array(0))).not.toThrow();
  });

  it('names both shapes when they differ, including rank and same-size transposes', () => {
    expect(() => checkSameShape([3, 4], [4, 3])).toThrow('difference: inputs "a" and "b" must have the same shape, got a [3, 4] and b [4, 3]');
    expect(() => checkSameShape([12], [3, 4])).toThrow('got a [12] and b [3, 4]');
    expect(() => checkSameShape([0, 5], [0, 6])).toThrow('got a [0, 5] and b [0, 6]');
  });

  it('rejects buffers of different lengths', () => {
    expect(() => differenceInto([1, 2], [1], new Float32Array(2))).toThrow('difference: lengths differ: a 2, b 1, dst 2');
  });
});
