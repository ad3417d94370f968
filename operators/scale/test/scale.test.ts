import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, localContext } from '@emflow/sdk';
import { firstDifference } from '../../../test/helpers.js';
import { Scale } from '../src/index.js';
import { scaleInto } from '../src/scale.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as { params: [number, number][]; inputs: { name: string; input: string; expected: string }[] };

describe('scale operator vs numpy (a·x + b in float64, rounded to float32)', () => {
  it('has the expected fixture set', () => {
    expect(cases.inputs.map((c) => c.name)).toEqual(['float32_7x9', 'int16_6x5', 'uint16_2x3x4', 'uint8_17', 'float64_3x4x5', 'float16_4x4']);
    expect(cases.params).toEqual([[1, 0], [3, -1], [0.1, 0], [-2.5, 1000], [1e35, 0], [0, 5]]);
  });

  for (const { name, input, expected } of cases.inputs) {
    it(name, () => {
      const image = readNpy(input);
      const reference = readNpy(expected);
      cases.params.forEach(([a, b], k) => {
        const { image: out } = new Scale().process({ image }, { a, b }, localContext('scale'));
        expect([out.dtype, out.shape]).toEqual(['float32', image.shape]);
        expect(firstDifference(out.data, reference.data.subarray(k * image.size, (k + 1) * image.size)), `a ${a}, b ${b}`).toBeUndefined();
      });
    });
  }
});

describe('scaleInto', () => {
  it('computes a·x + b into a Float64Array', () => {
    const dst = new Float64Array(4);
    scaleInto([1, -2, 0.5, 0], dst, 3, -1);
    expect(Array.from(dst)).toEqual([2, -7, 0.5, -1]);
  });

  it('rounds to float32 when dst is a Float32Array', () => {
    const dst = new Float32Array(2);
    scaleInto(Float64Array.of(1, 3), dst, 0.1, 0);
    expect(dst[0]).toBe(Math.fround(0.1));
    expect(dst[1]).toBe(Math.fround(0.30000000000000004));
  });

  it('reads int16 input exactly, including the extremes', () => {
    const src = Int16Array.of(-32768, -1, 0, 1, 32767);
    const dst = new Float32Array(5);
    scaleInto(src, dst, 0.5, 1);
    expect(Array.from(dst)).toEqual([-16383, 0.5, 1, 1.5, 16384.5]);
  });

  it('propagates NaN and Infinity as IEEE arithmetic does', () => {
    const dst = new Float64Array(4);
    scaleInto([Number.NaN, Infinity, -Infinity, 2], dst, -2, 1);
    expect(Array.from(dst)).toEqual([Number.NaN, -Infinity, Infinity, -3]);

    scaleInto([Infinity, 1, Number.NaN, -Infinity], dst, 0, 5);
    expect(Array.from(dst)).toEqual([Number.NaN, 5, Number.NaN, Number.NaN]);

    scaleInto([1, 2, 3, 4], dst, 1, Number.NaN);
    expect(dst.every(Number.isNaN)).toBe(true);

    scaleInto([1, 2, 3, 4], dst, 2, Infinity);
    expect(Array.from(dst)).toEqual([Infinity, Infinity, Infinity, Infinity]);
  });

  it('overflows to Infinity in a Float32Array dst', () => {
    const dst = new Float32Array(2);
    scaleInto([1e30, -1e30], dst, 1e10, 0);
    expect(Array.from(dst)).toEqual([Infinity, -Infinity]);
  });

  it('works in place', () => {
    const data = Float32Array.of(1, 2, 3);
    scaleInto(data, data, 2, 0.25);
    expect(Array.from(data)).toEqual([2.25, 4.25, 6.25]);
  });

  it('accepts empty arrays', () => {
    expect(() => scaleInto([], new Float32Array(0), 2, 1)).not.toThrow();
  });

  it('throws a RangeError naming both lengths on mismatch', () => {
    expect(() => scaleInto([1, 2, 3], new Float32Array(2), 1, 0)).toThrow(RangeError);
    expect(() => scaleInto([1, 2, 3], new Float32Array(2), 1, 0)).toThrow(
      'scale: dst length 2 does not equal src length 3',
    );
  });
});
