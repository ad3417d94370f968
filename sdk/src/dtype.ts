// Element types of N-D arrays, with their typed-array constructors and Arrow types, in one table.
import type { DataType } from 'apache-arrow';
import { arrow } from './arrow.js';

export const DTYPES = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'float16', 'float32', 'float64'] as const;
export type DType = (typeof DTYPES)[number];

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** An Arrow primitive type as an IPC schema describes it: Int {bitWidth, signed}, or FloatingPoint {precision: 0 half, 1 single, 2 double}. */
export type ArrowPrimitive = { kind: 'int'; bitWidth: number; signed: boolean } | { kind: 'float'; precision: number };

interface DTypeInfo {
  /** float16 travels as raw IEEE half bits in a Uint16Array (no Float16Array on Node 20). */
  array: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number };
  arrow: ArrowPrimitive;
  /** NumPy's type string, for .npy files and PROTOCOL.md readers. */
  numpy: string;
}

const INFO: Record<DType, DTypeInfo> = {
  int8: { array: Int8Array, arrow: { kind: 'int', bitWidth: 8, signed: true }, numpy: '|i1' },
  uint8: { array: Uint8Array, arrow: { kind: 'int', bitWidth: 8, signed: false }, numpy: '|u1' },
  int16: { array: Int16Array, arrow: { kind: 'int', bitWidth: 16, signed: true }, numpy: '<i2' },
  uint16: { array: Uint16Array, arrow: { kind: 'int', bitWidth: 16, signed: false }, numpy: '<u2' },
  int32: { array: Int32Array, arrow: { kind: 'int', bitWidth: 32, signed: true }, numpy: '<i4' },
  uint32: { array: Uint32Array, arrow: { kind: 'int', bitWidth: 32, signed: false }, numpy: '<u4' },
  float16: { array: Uint16Array, arrow: { kind: 'float', precision: 0 }, numpy: '<f2' },
  float32: { array: Float32Array, arrow: { kind: 'float', precision: 1 }, numpy: '<f4' },
  float64: { array: Float64Array, arrow: { kind: 'float', precision: 2 }, numpy: '<f8' },
};

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function bytesPerElement(dtype: DType): number {
  return INFO[dtype].array.BYTES_PER_ELEMENT;
}

export function arrowPrimitiveOf(dtype: DType): ArrowPrimitive {
  return INFO[dtype].arrow;
}

/** The dtype of an Arrow primitive, or undefined when it is not one we carry. */
export function dtypeOfPrimitive(primitive: ArrowPrimitive): DType | undefined {
  return DTYPES.find((dtype) => {
    const own = INFO[dtype].arrow;
    if (own.kind === 'int') return primitive.kind === 'int' && primitive.bitWidth === own.bitWidth && primitive.signed === own.signed;
    return primitive.kind === 'float' && primitive.precision === own.precision;
  });
}

/** The Arrow type of a dtype, as an apache-arrow object (apache-arrow is loaded when first asked for). */
export function arrowTypeOf(dtype: DType): DataType {
  const primitive = INFO[dtype].arrow;
  const { Float, Int } = arrow();
  // the widths and precisions of the table above are all ones apache-arrow has
  return primitive.kind === 'int' ? new Int(primitive.signed, primitive.bitWidth as 8 | 16 | 32) : new Float(primitive.precision as 0 | 1 | 2);
}

export function numpyTypeOf(dtype: DType): string {
  return INFO[dtype].numpy;
}

export function allocateTyped(dtype: DType, length: number): TypedArray {
  return new INFO[dtype].array(length);
}

export function viewTyped(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray {
  return new INFO[dtype].array(buffer, byteOffset, length);
}

/** The dtype of an Arrow primitive type, or undefined when it is not one we carry. */
export function dtypeOfArrow(type: DataType): DType | undefined {
  return DTYPES.find((dtype) => {
    const candidate = arrowTypeOf(dtype);
    return candidate.typeId === type.typeId && String(candidate) === String(type);
  });
}

/** The dtype whose typed array this is (float16 is never inferred: a Uint16Array is uint16). */
export function dtypeOfArray(array: TypedArray): DType {
  const found = DTYPES.find((dtype) => dtype !== 'float16' && array instanceof INFO[dtype].array);
  if (!found) throw new TypeError(`unsupported typed array ${Object.prototype.toString.call(array)}`);
  return found;
}

/** IEEE 754 half-precision bits to a number. */
export function halfToNumber(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
