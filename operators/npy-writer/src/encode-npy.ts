// A whole .npy file for an array: the SDK's header, then the elements as they lie in memory (little-endian,
// C order; float16 stays raw half bits, which is what NumPy's '<f2' is).
import { npyHeader, type NDArray } from '@emflow/sdk';

export function encodeNpy(array: NDArray): Uint8Array {
  const header = npyHeader(array);
  const file = new Uint8Array(header.length + array.data.byteLength);
  file.set(header);
  file.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), header.length);
  return file;
}
