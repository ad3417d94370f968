import { frameMismatch, operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { centredBox, logPowerSpectrum, reciprocalAxes, type SpectrumWindow } from './spectrum.js';

/** Box edge lengths offered; 'auto' takes the largest that fits. */
const SIZES = ['auto', '64', '128', '256', '512', '1024', '2048', '4096', '8192'] as const;
type BoxSize = (typeof SIZES)[number];

@operator({
  name: 'fft-power',
  version: '1.0.0',
  description:
    'Diffractogram: centred log power spectrum log(1 + |FFT|²) of a centred square power-of-two box of the image ' +
    '(numpy: fftshift(log1p(abs(fft2(box))**2))), optionally Hann-tapered and mean-subtracted. ' +
    'Frequency zero is at row and column size/2; the bin size is 1/(size·pixelSize).',
  inputs: { image: { type: 'image2d', description: 'image of any dtype; pixels inside the box must be finite' } },
  outputs: {
    spectrum: {
      type: 'image2d',
      description: 'float32 size×size log power spectrum; meta.pixelSize in reciprocal units (e.g. 1/Å), meta.units "1/<input units>"',
    },
  },
  params: {
    size: {
      type: 'string',
      enum: SIZES,
      default: 'auto',
      units: 'px',
      description: 'edge of the centred box that is transformed; auto: the largest power of two that fits in the image (a 401×401 image gives 256)',
    },
    window: {
      type: 'string',
      enum: ['none', 'hann'],
      default: 'none',
      description: 'taper applied to the box before the FFT; hann suppresses the edge cross caused by the non-periodic box',
    },
    removeMean: {
      type: 'boolean',
      default: true,
      description: 'subtract the (window-weighted) mean first so the DC bin is zero instead of a spike',
    },
  },
  display: { category: 'fourier' },
})
export class FftPower {
  process(
    { image }: { image: NDArray },
    { size, window, removeMean }: { size: BoxSize; window: SpectrumWindow; removeMean: boolean },
    ctx: ProcessContext,
  ) {
    const mismatch = frameMismatch(image, 'image2d');
    if (mismatch) throw new TypeError(`fft-power: input "image": ${mismatch}`);
    if (!SIZES.includes(size)) throw new RangeError(`fft-power: param "size" = ${String(size)}; expected one of ${SIZES.join(', ')}`);
    const [height, width] = image.shape;
    const box = centredBox(width, height, size === 'auto' ? 'auto' : Number(size));
    const spectrum = ctx.alloc('spectrum', 'float32', [box.size, box.size], reciprocalAxes(image.meta, box.size));
    logPowerSpectrum(image.values(), width, box, { window, removeMean }, spectrum.data as Float32Array);
    return { spectrum };
  }
}
