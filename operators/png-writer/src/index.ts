import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { encodePng, formatName, sourceName, writeNewFile } from '@emflow/formats';
import { limitsFor, type Scaling } from './scaling.js';

interface Params {
  path: string;
  overwrite: boolean;
  scaling: Scaling;
  low: number;
  high: number;
  bitDepth: 8 | 16;
}

@operator({
  name: 'png-writer',
  version: '1.0.0',
  description:
    'Writes each image as a grayscale 8- or 16-bit PNG for viewing: values map linearly from low (black) to high (white), clipped; ' +
    'NaN is black. The window is the finite data range, percentiles of the finite values (NumPy’s linear method) or fixed values.',
  inputs: { data: { type: 'image2d', description: '[height, width] image, any dtype' } },
  outputs: {},
  params: {
    path: {
      type: 'string',
      path: 'write',
      description: 'file name pattern, e.g. out/frame-{frame:04d}.png; fields: {frame} (meta.frame, {frame:04d} zero-padded), {name} (source file name without extension), {node}',
    },
    overwrite: { type: 'boolean', default: false, description: 'replace existing files; otherwise an existing file is an error' },
    scaling: {
      type: 'string',
      enum: ['minmax', 'percentile', 'fixed'],
      default: 'percentile',
      description: 'contrast window: "minmax" the finite data range, "percentile" the low–high percentiles per frame, "fixed" the values low–high',
    },
    low: { type: 'number', default: 0.5, description: 'shown black: a percentile (0–100) for "percentile", a data value for "fixed"; unused for "minmax"' },
    high: { type: 'number', default: 99.5, description: 'shown white: a percentile (0–100) for "percentile", a data value for "fixed"; unused for "minmax"' },
    bitDepth: { type: 'integer', enum: [8, 16], default: 8, units: 'bit', description: 'bits per pixel of the PNG' },
  },
  display: { category: 'sink' },
})
export class PngWriter {
  process({ data }: { data: NDArray }, { path, overwrite, scaling, low, high, bitDepth }: Params, ctx: ProcessContext) {
    try {
      const file = formatName(path, { frame: data.meta.frame ?? ctx.frame, name: sourceName(data.meta.source), node: ctx.node });
      const limits = limitsFor(data.values(), scaling, low, high);
      writeNewFile(file, encodePng(data, { ...limits, bitDepth }), overwrite);
    } catch (error) {
      throw new Error(`png-writer: ${(error as Error).message}`, { cause: error });
    }
    return {};
  }
}
