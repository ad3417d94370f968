import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy, NDArray, type ProcessContext } from '@emflow/sdk';
import { centredBox, hannWindow, logPowerSpectrum, reciprocalAxes, type SpectrumWindow } from '../src/spectrum.js';
import { FftPower } from '../src/index.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);

interface FixtureCase {
  input: string;
  size: number | 'auto';
  window: SpectrumWindow;
  removeMean: boolean;
  output: string;
}
const manifest = JSON.parse(readFileSync(`${fixtureDir}manifest.json`, 'utf8')) as FixtureCase[];

function spectrumOf(image: NDArray, size: number | 'auto', window: SpectrumWindow, removeMean: boolean): Float32Array {
  const [height, width] = image.shape;
  const box = centredBox(width, height, size);
  const out = new Float32Array(box.size * box.size);
  logPowerSpectrum(image.values(), width, box, { window, removeMean }, out);
  return out;
}

/** A context whose alloc hands out plain memory, as the SDK does when no shared slot is granted. */
const plainContext = { node: 'test', frame: 0, alloc: (_port, dtype, shape, meta) => NDArray.zeros(dtype, shape, meta) } as ProcessContext;

describe('logPowerSpectrum vs numpy fftshift(log1p(abs(fft2(box))**2))', () => {
  it('has the expected fixture set', () => {
    expect(manifest.map((c) => c.output)).toEqual([
      'tomviz_101x101_auto_none_mean.npy',
      'tomviz_101x101_auto_hann_mean.npy',
      'tomviz_101x101_32_none_raw.npy',
      'random_64x64_auto_none_mean.npy',
      'random_64x64_64_hann_mean.npy',
      'stripes_45x70_auto_hann_raw.npy',
    ]);
  });

  for (const { input, size, window, removeMean, output } of manifest) {
    it(`${input}, size ${size}, window ${window}, removeMean ${removeMean}`, () => {
      const expected = readNpy(output);
      const ours = spectrumOf(readNpy(input), size, window, removeMean);
      expect(ours.length).toBe(expected.size);
      // |ours − numpy| ≤ 1e-4·max(1, |numpy|): relative on log power, absolute near the zeroed DC bin.
      let worst = 0;
      for (let i = 0; i < ours.length; i++) {
        const reference = expected.data[i];
        worst = Math.max(worst, Math.abs(ours[i] - reference) / (1e-4 * Math.max(1, Math.abs(reference))));
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  }
});

describe('logPowerSpectrum', () => {
  /** Row-major image of cos(2π(kx·x + ky·y)/period) + 5. */
  function cosine(width: number, height: number, kx: number, ky: number, period: number): Float64Array {
    const image = new Float64Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) image[y * width + x] = 5 + Math.cos((2 * Math.PI * (kx * x + ky * y)) / period);
    }
    return image;
  }

  /** Positions (row, column) of the bins holding more than half the maximum. */
  function brightBins(spectrum: Float32Array, n: number): [number, number][] {
    const max = spectrum.reduce((a, b) => Math.max(a, b), -Infinity);
    const bins: [number, number][] = [];
    spectrum.forEach((value, i) => value > max / 2 && bins.push([Math.floor(i / n), i % n]));
    return bins;
  }

  it('puts a pure cosine in its two conjugate bins around the centre, with power (N²/2)²', () => {
    const n = 64;
    const out = new Float32Array(n * n);
    logPowerSpectrum(cosine(n, n, 5, -3, n), n, centredBox(n, n, 'auto'), { window: 'none', removeMean: true }, out);
    // fft2 index (v, u) = (−3, 5) and (3, −5), shifted by n/2.
    expect(brightBins(out, n)).toEqual([
      [32 - 3, 32 + 5],
      [32 + 3, 32 - 5],
    ]);
    expect(out[(32 - 3) * n + 32 + 5]).toBeCloseTo(Math.log1p(((n * n) / 2) ** 2), 5);
    expect(out[32 * n + 32]).toBeCloseTo(0, 12);
  });

  it('finds the cosine frequency in the centred box of a non-power-of-two image', () => {
    // Period 16 px is periodic in the 64-px box cut from 77×90 (offsets 13 and 6).
    const out = new Float32Array(64 * 64);
    logPowerSpectrum(cosine(77, 90, 1, 2, 16), 77, centredBox(77, 90, 'auto'), { window: 'hann', removeMean: true }, out);
    // 64/16 = 4 cycles per box per unit of k: bins (8, 4) from the centre.
    expect(brightBins(out, 64)).toContainEqual([32 + 8, 32 + 4]);
    expect(brightBins(out, 64)).toContainEqual([32 - 8, 32 - 4]);
    const max = out.reduce((a, b) => Math.max(a, b), -Infinity);
    expect(out[(32 + 8) * 64 + 32 + 4]).toBe(max);
  });

  it('leaves the DC spike in place when removeMean is off', () => {
    const out = new Float32Array(16 * 16);
    logPowerSpectrum(new Float64Array(16 * 16).fill(2), 16, centredBox(16, 16, 'auto'), { window: 'none', removeMean: false }, out);
    // Σx = 512 → log1p(512²) at the centre, nothing elsewhere.
    expect(out[8 * 16 + 8]).toBeCloseTo(Math.log1p(512 ** 2), 5);
    expect(out.filter((v) => v !== 0).length).toBe(1);
  });

  it('rejects NaN and infinite pixels inside the box, naming the position', () => {
    const image = new Float32Array(10 * 10);
    image[4 * 10 + 6] = Number.NaN;
    const box = centredBox(10, 10, 'auto');
    expect(() => logPowerSpectrum(image, 10, box, { window: 'none', removeMean: true }, new Float32Array(64))).toThrow(
      'fft-power: input "image" has NaN at row 4, column 6 inside the FFT box; expected finite pixels',
    );
    image[4 * 10 + 6] = Infinity;
    expect(() => logPowerSpectrum(image, 10, box, { window: 'none', removeMean: false }, new Float32Array(64))).toThrow(/Infinity/);
    // Outside the 8×8 box (offset 1) a NaN is never read.
    image[4 * 10 + 6] = 0;
    image[0] = Number.NaN;
    expect(() => logPowerSpectrum(image, 10, box, { window: 'none', removeMean: true }, new Float32Array(64))).not.toThrow();
  });

  it('rejects an unknown window', () => {
    const box = centredBox(4, 4, 'auto');
    expect(() => logPowerSpectrum(new Float32Array(16), 4, box, { window: 'blackman' as SpectrumWindow, removeMean: true }, new Float32Array(16))).toThrow(
      `fft-power: param "window" = blackman; expected 'none' or 'hann'`,
    );
  });
});

describe('centredBox', () => {
  it('takes the largest centred power-of-two square, offsets rounded down', () => {
    expect(centredBox(401, 401, 'auto')).toEqual({ x0: 72, y0: 72, size: 256 });
    expect(centredBox(70, 45, 'auto')).toEqual({ x0: 19, y0: 6, size: 32 });
    expect(centredBox(512, 512, 'auto')).toEqual({ x0: 0, y0: 0, size: 512 });
    expect(centredBox(2, 3, 'auto')).toEqual({ x0: 0, y0: 0, size: 2 });
    expect(centredBox(401, 300, 128)).toEqual({ x0: 136, y0: 86, size: 128 });
  });

  it('rejects images smaller than 2×2, including empty ones', () => {
    expect(() => centredBox(0, 0, 'auto')).toThrow('fft-power: input "image" is 0×0 pixels; expected at least 2×2');
    expect(() => centredBox(5, 1, 'auto')).toThrow(/1×5/);
  });

  it('rejects sizes that are not powers of two or do not fit', () => {
    expect(() => centredBox(100, 100, 48)).toThrow(`fft-power: param "size" = 48; expected 'auto' or a power of two ≥ 2`);
    expect(() => centredBox(401, 300, 512)).toThrow(`fft-power: param "size" = 512 does not fit the 300×401 image; expected 'auto' or a power of two ≤ 300`);
  });
});

describe('hannWindow', () => {
  it('is the periodic Hann window', () => {
    const window = hannWindow(4);
    [0, 0.5, 1, 0.5].forEach((value, i) => expect(window[i]).toBeCloseTo(value, 15));
  });
});

describe('reciprocalAxes', () => {
  it('turns a pixel size in Å into a bin size in 1/Å', () => {
    expect(reciprocalAxes({ pixelSize: [2, 0.5], units: 'Å' }, 256)).toEqual({ pixelSize: [1 / 512, 1 / 128], units: '1/Å' });
  });

  it('falls back to 1/px without a usable [y, x] pixel size', () => {
    expect(reciprocalAxes({}, 64)).toEqual({ pixelSize: [1 / 64, 1 / 64], units: '1/px' });
    expect(reciprocalAxes({ pixelSize: [1, 1, 1], units: 'nm' }, 64)).toEqual({ pixelSize: [1 / 64, 1 / 64], units: '1/px' });
    expect(reciprocalAxes({ pixelSize: [1.5, 1.5] }, 64)).toEqual({ pixelSize: [1 / 96, 1 / 96], units: '1/px' });
  });
});

describe('FftPower operator', () => {
  const operator = new FftPower();

  it('outputs a float32 spectrum of the box with reciprocal pixel size', () => {
    const image = new NDArray(new Float32Array(100 * 80).map((_, i) => i % 7), [80, 100], { pixelSize: [1.25, 1.25], units: 'Å' });
    const { spectrum } = operator.process({ image }, { size: 'auto', window: 'hann', removeMean: true }, plainContext);
    expect(spectrum.dtype).toBe('float32');
    expect(spectrum.shape).toEqual([64, 64]);
    expect(spectrum.meta).toEqual({ pixelSize: [1 / 80, 1 / 80], units: '1/Å' });
    expect(spectrum.data).toEqual(spectrumOf(image, 'auto', 'hann', true));
  });

  it('rejects a wrong-rank input and a size that does not fit', () => {
    const volume = new NDArray(new Float32Array(8), [2, 2, 2]);
    expect(() => operator.process({ image: volume }, { size: 'auto', window: 'none', removeMean: true }, plainContext)).toThrow(
      'fft-power: input "image": expected image2d (a 2-D array), got a 3-D array',
    );
    const small = new NDArray(new Float32Array(100 * 100), [100, 100]);
    expect(() => operator.process({ image: small }, { size: '128', window: 'none', removeMean: true }, plainContext)).toThrow(/"size" = 128/);
  });
});
