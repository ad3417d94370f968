// NumPy .npy files (format 1.0 written; 1.0–3.0 read): little-endian, C order, the dtypes frames carry.
import { allocateTyped, bytesPerElement, DTYPES, numpyTypeOf, type DType } from './dtype.js';
import { NDArray, type FrameMeta } from './frames.js';

const MAGIC = '\x93NUMPY';

/** The .npy header of an array: magic, version 1.0, header length, the dict padded so the data starts 64-aligned. */
export function npyHeader(array: Pick<NDArray, 'dtype' | 'shape'>): Uint8Array {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const dict = `{'descr': '${numpyTypeOf(array.dtype)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const header = Buffer.alloc(total);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt8(1, 6);
  header.writeUInt8(0, 7);
  header.writeUInt16LE(total - 10, 8);
  header.write(dict + ' '.repeat(total - unpadded) + '\n', 10, 'latin1');
  return header;
}

/** Parse a .npy file's bytes into an NDArray (values copied into an aligned array). `source` names it in errors. */
export function decodeNpy(bytes: Uint8Array, source = '.npy data', meta: FrameMeta = {}): NDArray {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.toString('latin1', 0, 6) !== MAGIC) throw new Error(`${source}: not a .npy file (no \\x93NUMPY magic)`);
  const major = buffer[6];
  if (major < 1 || major > 3) throw new Error(`${source}: unsupported .npy format version ${major}`);
  const headerStart = major === 1 ? 10 : 12;
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const header = buffer.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const dtype = DTYPES.find((d) => numpyTypeOf(d) === descr || (numpyTypeOf(d).startsWith('|') && `<${numpyTypeOf(d).slice(1)}` === descr)) as DType | undefined;
  if (!dtype) throw new Error(`${source}: dtype ${descr} is not supported (little-endian int8…float64 only)`);
  if (!/'fortran_order':\s*False/.test(header)) throw new Error(`${source}: Fortran-ordered arrays are not supported`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new Error(`${source}: header has no shape`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const expected = dataStart + count * bytesPerElement(dtype);
  if (buffer.byteLength !== expected) throw new Error(`${source}: ${buffer.byteLength} bytes, expected ${expected} for shape (${shape.join(', ')}) of ${descr}`);
  const data = allocateTyped(dtype, count);
  new Uint8Array(data.buffer).set(buffer.subarray(dataStart));
  return new NDArray(data, shape, meta, dtype);
}
