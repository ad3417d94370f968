// Colormaps as 256-entry RGBA lookup tables, computed once from d3-scale-chromatic.
import { interpolateInferno, interpolateMagma, interpolateViridis } from 'd3-scale-chromatic';

export const COLORMAPS = ['gray', 'viridis', 'magma', 'inferno'] as const;
export type Colormap = (typeof COLORMAPS)[number];

const INTERPOLATORS: Record<Exclude<Colormap, 'gray'>, (t: number) => string> = {
  viridis: interpolateViridis,
  magma: interpolateMagma,
  inferno: interpolateInferno,
};

/** "rgb(r, g, b)" or "#rrggbb", as d3 interpolators return them. */
function parseColor(css: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const rgb = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(css);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`unexpected colour ${css}`);
}

const luts = new Map<Colormap, Uint8ClampedArray>();

/** RGBA × 256: entry i is the colour of t = i / 255. */
export function colormapLut(name: Colormap): Uint8ClampedArray {
  const known = luts.get(name);
  if (known) return known;
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = name === 'gray' ? [i, i, i] : parseColor(INTERPOLATORS[name](i / 255));
    lut.set([r, g, b, 255], i * 4);
  }
  luts.set(name, lut);
  return lut;
}

export const isColormap = (v: unknown): v is Colormap => (COLORMAPS as readonly unknown[]).includes(v);

/**
 * Paint float pixels into RGBA through a LUT, `lo` drawn with the first colour and `hi` with the last. NaN is
 * transparent; ±Infinity saturate.
 */
export function paint(pixels: ArrayLike<number>, lo: number, hi: number, lut: Uint8ClampedArray, out: Uint8ClampedArray): void {
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    const o = i * 4;
    if (Number.isNaN(v)) {
      out[o + 3] = 0;
      continue;
    }
    const t = Math.max(0, Math.min(255, Math.round((v - lo) * scale)));
    out[o] = lut[t * 4];
    out[o + 1] = lut[t * 4 + 1];
    out[o + 2] = lut[t * 4 + 2];
    out[o + 3] = 255;
  }
}
