import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, NDArray } from '@emflow/sdk';
import { contrastLimits, encodePng, type ContrastMode } from '../src/png.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixtureScript = join(fixtureDir, 'make_tiff_png_fixtures.py');
const scratch = mkdtempSync(join(tmpdir(), 'emflow-png-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const readNpy = (name: string) => decodeNpy(readFileSync(fixtureDir + name), name);

/** A PNG as decoded by the fixture script's own reader (chunk CRCs, zlib, filter reversal). */
function decodeWithPython(png: Uint8Array, name: string): NDArray {
  const file = join(scratch, `${name}.png`);
  const npy = join(scratch, `${name}.npy`);
  writeFileSync(file, png);
  execFileSync('python3', [fixtureScript, 'decode', file, npy]);
  return decodeNpy(readFileSync(npy), npy);
}

interface Manifest {
  input: string;
  limits: Record<string, [number, number]>;
  cases: { name: string; limits: string; bitDepth: 8 | 16; expected: string }[];
  fixed: { name: string; low: number; high: number; bitDepth: 8 | 16; expected: string };
}
const manifest = JSON.parse(readFileSync(`${fixtureDir}png-expected.json`, 'utf8')) as Manifest;
const input = readNpy(manifest.input);

describe('contrastLimits vs numpy (NaN and ±Infinity in the input)', () => {
  const modes: Record<string, ContrastMode> = {
    minmax: { mode: 'minmax' },
    'percentile-0.5-99.5': { mode: 'percentile', low: 0.5, high: 99.5 },
    'percentile-10-75': { mode: 'percentile', low: 10, high: 75 },
    'percentile-0-100': { mode: 'percentile', low: 0, high: 100 },
  };
  for (const [name, mode] of Object.entries(modes)) {
    it(name, () => {
      const [low, high] = manifest.limits[name];
      expect(contrastLimits(input.data, mode)).toEqual({ low, high });
    });
  }

  it('gives equal limits for a constant image and { 0, 0 } without finite values', () => {
    const constant = new Float32Array(12).fill(4.5);
    expect(contrastLimits(constant, { mode: 'minmax' })).toEqual({ low: 4.5, high: 4.5 });
    expect(contrastLimits(constant, { mode: 'percentile', low: 1, high: 99 })).toEqual({ low: 4.5, high: 4.5 });
    const nothing = Float32Array.of(NaN, Infinity, -Infinity);
    expect(contrastLimits(nothing, { mode: 'minmax' })).toEqual({ low: 0, high: 0 });
    expect(contrastLimits(nothing, { mode: 'percentile', low: 1, high: 99 })).toEqual({ low: 0, high: 0 });
  });

  it('refuses percentiles outside 0…100 or in the wrong order', () => {
    expect(() => contrastLimits(input.data, { mode: 'percentile', low: -1, high: 50 })).toThrow(/0 ≤ low ≤ high ≤ 100, got low -1, high 50/);
    expect(() => contrastLimits(input.data, { mode: 'percentile', low: 60, high: 50 })).toThrow(/got low 60, high 50/);
    expect(() => contrastLimits(input.data, { mode: 'percentile', low: 0, high: 101 })).toThrow(/high 101/);
  });
});

describe('encodePng, decoded independently in Python', () => {
  const cases = [
    ...manifest.cases.map(({ name, limits, bitDepth, expected }) => ({ name, low: manifest.limits[limits][0], high: manifest.limits[limits][1], bitDepth, expected })),
    manifest.fixed,
  ];
  for (const { name, low, high, bitDepth, expected } of cases) {
    it(`${name}: ${bitDepth}-bit, limits ${low} … ${high}`, () => {
      const decoded = decodeWithPython(encodePng(input, { low, high, bitDepth }), name);
      const reference = readNpy(expected);
      expect(decoded.dtype).toBe(bitDepth === 8 ? 'uint8' : 'uint16');
      expect(decoded.shape).toEqual(input.shape);
      expect(decoded.data).toEqual(reference.data);
    });
  }

  it('keeps uint16 values exactly at 16 bits with limits 0 … 65535', () => {
    const image = NDArray.zeros('uint16', [7, 9]);
    image.data.set(Array.from({ length: image.size }, (_, i) => (i * 4099) % 65536));
    image.data[0] = 65535;
    expect(decodeWithPython(encodePng(image, { low: 0, high: 65535, bitDepth: 16 }), 'identity').data).toEqual(image.data);
  });

  it('maps a constant image (equal limits) to black and values above the limit to white', () => {
    const image = new NDArray(Float64Array.of(2, 2, 2, 3, NaN, 1), [2, 3]);
    const decoded = decodeWithPython(encodePng(image, { low: 2, high: 2, bitDepth: 8 }), 'constant');
    expect(Array.from(decoded.data)).toEqual([0, 0, 0, 255, 0, 0]);
  });
});

describe('encodePng refuses', () => {
  const image = NDArray.zeros('float32', [2, 2]);
  it('arrays that are not 2-D', () => {
    expect(() => encodePng(NDArray.zeros('uint8', [2, 2, 2]), { low: 0, high: 1, bitDepth: 8 })).toThrow(/encodePng: expected a 2-D image, got shape \[2, 2, 2\]/);
  });
  it('limits in the wrong order or not finite', () => {
    expect(() => encodePng(image, { low: 2, high: 1, bitDepth: 8 })).toThrow(/low ≤ high, got low 2, high 1/);
    expect(() => encodePng(image, { low: NaN, high: 1, bitDepth: 8 })).toThrow(/got low NaN/);
  });
  it('bit depths other than 8 and 16', () => {
    expect(() => encodePng(image, { low: 0, high: 1, bitDepth: 12 as 8 })).toThrow(/bitDepth must be 8 or 16, got 12/);
  });
});
