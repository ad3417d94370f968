import { readFileSync } from 'node:fs';

export interface NpyFloat32 {
  shape: number[];
  data: Float32Array;
}

/** Minimal .npy reader for the fixtures: little-endian float32 ('<f4'), C order, format v1–v3. */
export function readNpyFloat32(path: string): NpyFloat32 {
  const bytes = readFileSync(path);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);

  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (descr !== '<f4') throw new Error(`${path}: dtype ${descr}, expected <f4`);
  if (!/'fortran_order':\s*False/.test(header)) throw new Error(`${path}: Fortran order not supported`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new Error(`${path}: no shape in header`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);

  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length !== dataStart + 4 * count) throw new Error(`${path}: size does not match shape ${shape}`);
  // DataView keeps the read correct regardless of host endianness and Buffer alignment.
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, 4 * count);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  return { shape, data };
}
