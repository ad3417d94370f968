// NumPy .npy encoding (format version 1.0) of N-D arrays: header only; the data is written as is.
import { numpyTypeOf, type NDArray } from '@emflow/sdk';

/** The .npy header for an array: magic, version, header length, and the padded dict (64-byte aligned). */
export function npyHeader(array: Pick<NDArray, 'dtype' | 'shape'>): Uint8Array {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const dict = `{'descr': '${numpyTypeOf(array.dtype)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  const header = new Uint8Array(10 + text.length);
  header.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(header.buffer).setUint16(8, text.length, true);
  header.set(Buffer.from(text, 'latin1'), 10);
  return header;
}
