import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { contrastLimits, encodePng } from '@emflow/formats';
import { decodeNpy, NDArray, type ProcessContext } from '@emflow/sdk';
import { PngWriter } from '../src/index.js';
import { limitsFor } from '../src/scaling.js';

const pngReader = fileURLToPath(new URL('../../../formats/test/fixtures/make_tiff_png_fixtures.py', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'emflow-png-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = (frame: number) => ({ node: 'save', frame, alloc: () => { throw new Error('a sink allocates nothing'); } }) as unknown as ProcessContext;
const defaults = { overwrite: false, scaling: 'percentile' as const, low: 0.5, high: 99.5, bitDepth: 8 as const };

/** The pixels of a PNG as the fixture script's own decoder (zlib + filter reversal) reads them. */
function decodeWithPython(path: string): NDArray {
  execFileSync('python3', [pngReader, 'decode', path, `${path}.npy`]);
  return decodeNpy(readFileSync(`${path}.npy`), path);
}

describe('png-writer', () => {
  it('maps fixed limits linearly, halves rounded up, clipped outside', () => {
    const ramp = new NDArray(Float32Array.of(-5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, NaN), [2, 7], { frame: 4 });
    const path = join(scratch, 'ramp-{frame}.png');
    new PngWriter().process({ data: ramp }, { ...defaults, path, scaling: 'fixed', low: 0, high: 10 }, context(0));
    // round(v / 10 · 255) by hand: 25.5 → 26, 76.5 → 77, …
    expect(Array.from(decodeWithPython(join(scratch, 'ramp-4.png')).data)).toEqual([0, 0, 26, 51, 77, 102, 128, 153, 179, 204, 230, 255, 255, 0]);
  });

  it('writes 16-bit PNGs with the per-frame percentile window by default', () => {
    const image = new NDArray(Float64Array.from({ length: 200 }, (_, i) => Math.sin(i) * 100), [10, 20], { source: '/in/tilt.mrc', frame: 0 });
    const path = join(scratch, '{name}.png');
    new PngWriter().process({ data: image }, { ...defaults, path, bitDepth: 16 }, context(0));
    const written = readFileSync(join(scratch, 'tilt.png'));
    const limits = contrastLimits(image.data, { mode: 'percentile', low: 0.5, high: 99.5 });
    expect(written.equals(encodePng(image, { ...limits, bitDepth: 16 }))).toBe(true);
    expect(decodeWithPython(join(scratch, 'tilt.png')).dtype).toBe('uint16');
  });

  it('uses the finite data range for minmax', () => {
    expect(limitsFor(Float32Array.of(3, NaN, -1, Infinity, 2), 'minmax', 0.5, 99.5)).toEqual({ low: -1, high: 3 });
  });

  it('names itself and the params in errors', () => {
    const image = NDArray.zeros('float32', [2, 2]);
    const write = (params: Partial<typeof defaults>) => () => new PngWriter().process({ data: image }, { ...defaults, path: join(scratch, 'bad.png'), ...params }, context(0));
    expect(write({ low: 60, high: 50 })).toThrow('png-writer: scaling "percentile" needs percentiles 0 ≤ low ≤ high ≤ 100, got low 60, high 50');
    expect(write({ scaling: 'fixed' as 'percentile', low: 3, high: -3 })).toThrow('png-writer: scaling "fixed" needs low ≤ high (the data values shown black and white), got low 3, high -3');
  });

  it('refuses to overwrite unless asked', () => {
    const image = NDArray.zeros('uint8', [2, 2]);
    const path = join(scratch, 'once.png');
    new PngWriter().process({ data: image }, { ...defaults, path }, context(0));
    expect(() => new PngWriter().process({ data: image }, { ...defaults, path }, context(0))).toThrow(/^png-writer: .*once\.png exists/);
    expect(() => new PngWriter().process({ data: image }, { ...defaults, path, overwrite: true }, context(0))).not.toThrow();
  });
});
