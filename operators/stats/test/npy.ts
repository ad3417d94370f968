import { readFileSync } from 'node:fs';

/** dtypes used by the fixtures: little-endian float32, float64 and int16. */
const readers = {
  '<f4': { bytes: 4, get: (view: DataView, offset: number) => view.getFloat32(offset, true) },
  '<f8': { bytes: 8, get: (view: DataView, offset: number) => view.getFloat64(offset, true) },
  '<i2': { bytes: 2, get: (view: DataView, offset: number) => view.getInt16(offset, true) },
} as const;

export interface Npy {
  dtype: keyof typeof readers;
  shape: number[];
  /** Values converted exactly to float64, whatever the stored dtype. */
  data: Float64Array;
}

/** Minimal .npy reader (format v1–v3, C order) for the fixtures. */
export function readNpy(path: string): Npy {
  const bytes = readFileSync(path);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);

  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  if (!(descr in readers)) throw new Error(`${path}: unsupported dtype ${descr}`);
  const dtype = descr as keyof typeof readers;
  if (!/'fortran_order':\s*False/.test(header)) throw new Error(`${path}: Fortran order not supported`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new Error(`${path}: no shape in header`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);

  const { bytes: itemSize, get } = readers[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length !== dataStart + itemSize * count) throw new Error(`${path}: size does not match shape ${shape}`);
  // DataView keeps the read correct regardless of host endianness and Buffer alignment.
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, itemSize * count);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = get(view, i * itemSize);
  return { dtype, shape, data };
}
