import { frameMismatch, operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { checkContrastParams, displayRange, type Contrast } from './display-range.js';

export const COLORMAPS = ['gray', 'viridis', 'magma', 'inferno'] as const;
export type Colormap = (typeof COLORMAPS)[number];

export interface ImageViewParams {
  colormap: Colormap;
  contrast: Contrast;
  low: number;
  high: number;
  min?: number;
  max?: number;
}

@operator({
  name: 'image-view',
  version: '1.0.0',
  description:
    'Shows a 2-D image in the web editor: the editor draws every frame in a display pane with this colormap and ' +
    'display range (frame metadata displayMin, displayMax, colormap, contrast); `emflow run --out` writes it as float32 .npy.',
  inputs: { image: { type: 'image2d', description: 'image of any dtype' } },
  outputs: {
    view: {
      type: 'image2d',
      description:
        'the image as float32, same shape (NaN and ±Infinity kept); metadata displayMin and displayMax (the window, in ' +
        'the intensity units of the input; null without a finite pixel), colormap and contrast',
    },
  },
  params: {
    colormap: { type: 'string', enum: COLORMAPS, default: 'gray', description: 'colour scale from displayMin (first colour) to displayMax (last colour)' },
    contrast: {
      type: 'string',
      enum: ['percentile', 'minmax', 'manual'],
      default: 'percentile',
      description:
        'how the display window is chosen: the low and high percentiles of the finite pixels (numpy.percentile, linear), ' +
        'the finite minimum and maximum, or min and max as given',
    },
    low: { type: 'number', minimum: 0, maximum: 100, default: 1, units: '%', description: "contrast 'percentile': percentile of the finite pixels shown as the first colour" },
    high: {
      type: 'number',
      minimum: 0,
      maximum: 100,
      default: 99,
      units: '%',
      description: "contrast 'percentile': percentile of the finite pixels shown as the last colour (greater than low)",
    },
    min: { type: 'number', optional: true, description: "contrast 'manual': value shown as the first colour, in the intensity units of the input" },
    max: { type: 'number', optional: true, description: "contrast 'manual': value shown as the last colour, in the intensity units of the input (greater than min)" },
  },
  display: { category: 'display', view: 'image' },
})
export class ImageView {
  process({ image }: { image: NDArray }, params: ImageViewParams, ctx: ProcessContext) {
    checkContrastParams(params);
    const mismatch = frameMismatch(image, 'image2d');
    if (mismatch) throw new TypeError(`image-view: input "image": ${mismatch}`);
    const values = image.values();
    const range = displayRange(values, params);
    const view = ctx.alloc('view', 'float32', image.shape, {
      displayMin: range.min,
      displayMax: range.max,
      colormap: params.colormap,
      contrast: params.contrast,
    });
    // float32 rounding as numpy's astype(float32); NaN and ±Infinity pass through
    (view.data as Float32Array).set(values);
    return { view };
  }
}
