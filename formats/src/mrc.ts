// MRC2014 (https://www.ccpem.ac.uk/mrc_format/mrc2014.php): a 1024-byte header, an extended header of
// NSYMBT bytes, then the voxels with columns fastest, rows next, sections slowest.
// Modes 0 (int8), 1 (int16), 2 (float32), 6 (uint16) and 12 (float16). Mode 0 is read as signed, as MRC2014
// defines it; the older IMOD convention of unsigned mode-0 bytes (flagged in the IMOD stamp) is not honoured.
import { allocateTyped, bytesPerElement, NDArray, type DType, type TypedArray } from '@emflow/sdk';

export type Vec3 = [number, number, number];

export interface MrcHeader {
  /** Columns, rows and sections in the file (along the axes mapc, mapr, maps). */
  nx: number;
  ny: number;
  nz: number;
  mode: number;
  nxstart: number;
  nystart: number;
  nzstart: number;
  /** Sampling intervals along X, Y, Z of the unit cell. */
  mx: number;
  my: number;
  mz: number;
  /** Unit cell edges along X, Y, Z, in Å. */
  cella: Vec3;
  /** Unit cell angles α, β, γ, in degrees. */
  cellb: Vec3;
  /** Which spatial axis (1 = X, 2 = Y, 3 = Z) the columns, rows and sections run along. */
  mapc: number;
  mapr: number;
  maps: number;
  dmin: number;
  dmax: number;
  dmean: number;
  /** Space group; 0 for images and image stacks, 1 for a single volume. */
  ispg: number;
  nsymbt: number;
  /** Extended header type, e.g. "FEI1", "MRCO"; empty when unset. */
  exttyp: string;
  nversion: number;
  /** Origin along X, Y, Z, in Å. */
  origin: Vec3;
  rms: number;
  nlabl: number;
  labels: string[];
}

/** Everything needed to decode an MRC file's data, from its header alone. */
export interface MrcLayout {
  header: MrcHeader;
  extendedHeader: Uint8Array;
  /** Voxel size along X, Y, Z in Å (cella / mx etc.; 0 where the sampling is 0, i.e. unknown). */
  voxelSize: Vec3;
  dtype: DType;
  /** The data's shape in spatial order [Z, Y, X], X fastest, whatever the file's axis order. */
  shape: Vec3;
  /** Where the voxels start. */
  dataOffset: number;
  littleEndian: boolean;
  /** Name used in error messages (the file path). */
  source: string;
}

export interface MrcFile {
  header: MrcHeader;
  extendedHeader: Uint8Array;
  voxelSize: Vec3;
  /** [Z, Y, X], also for a single image (Z = 1). */
  data: NDArray;
}

const HEADER_BYTES = 1024;
const LABEL_BYTES = 80;
const MAX_LABELS = 10;
const MRC_VERSION = 20140;

const MODES: readonly (readonly [number, DType])[] = [
  [0, 'int8'],
  [1, 'int16'],
  [2, 'float32'],
  [6, 'uint16'],
  [12, 'float16'],
];
const SUPPORTED_MODES = MODES.map(([mode, dtype]) => `${mode} (${dtype})`).join(', ');
const WRITABLE_DTYPES = MODES.map(([mode, dtype]) => `${dtype} → mode ${mode}`).join(', ');

/** Byte offsets of the header words (MRC2014 table, 4 bytes each). */
const AT = {
  nx: 0, ny: 4, nz: 8, mode: 12, nxstart: 16, nystart: 20, nzstart: 24, mx: 28, my: 32, mz: 36,
  cella: 40, cellb: 52, mapc: 64, mapr: 68, maps: 72, dmin: 76, dmax: 80, dmean: 84, ispg: 88, nsymbt: 92,
  exttyp: 104, nversion: 108, origin: 196, map: 208, machst: 212, rms: 216, nlabl: 220, labels: 224,
} as const;

const latin1 = (bytes: Uint8Array, start: number, end: number) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');

/** Parse and check the header: stamp, byte order, mode, sizes, axis order and that the file holds all the data. */
export function readMrcLayout(bytes: Uint8Array, source: string): MrcLayout {
  // Until the stamp shows an MRC file, messages neither quote its bytes nor tell its size: it may be anyone's file.
  if (bytes.byteLength < HEADER_BYTES) throw new Error(`${source}: not an MRC file: shorter than the ${HEADER_BYTES}-byte MRC header`);
  if (latin1(bytes, AT.map, AT.map + 4) !== 'MAP ') throw new Error(`${source}: not an MRC file: no "MAP " stamp at byte ${AT.map}`);
  const littleEndian = byteOrderOf(bytes, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const int = (at: number) => view.getInt32(at, littleEndian);
  const float = (at: number) => view.getFloat32(at, littleEndian);
  const vec3 = (at: number): Vec3 => [float(at), float(at + 4), float(at + 8)];

  const nlabl = int(AT.nlabl);
  const labels = Array.from({ length: Math.max(0, Math.min(MAX_LABELS, nlabl)) }, (_, k) =>
    latin1(bytes, AT.labels + k * LABEL_BYTES, AT.labels + (k + 1) * LABEL_BYTES).replace(/[\s\0]+$/, ''),
  );
  const header: MrcHeader = {
    nx: int(AT.nx), ny: int(AT.ny), nz: int(AT.nz), mode: int(AT.mode),
    nxstart: int(AT.nxstart), nystart: int(AT.nystart), nzstart: int(AT.nzstart),
    mx: int(AT.mx), my: int(AT.my), mz: int(AT.mz),
    cella: vec3(AT.cella), cellb: vec3(AT.cellb),
    mapc: int(AT.mapc), mapr: int(AT.mapr), maps: int(AT.maps),
    dmin: float(AT.dmin), dmax: float(AT.dmax), dmean: float(AT.dmean),
    ispg: int(AT.ispg), nsymbt: int(AT.nsymbt),
    exttyp: latin1(bytes, AT.exttyp, AT.exttyp + 4).replace(/\0+$/, ''),
    nversion: int(AT.nversion), origin: vec3(AT.origin), rms: float(AT.rms), nlabl, labels,
  };

  const dtype = MODES.find(([mode]) => mode === header.mode)?.[1];
  if (!dtype) throw new Error(`${source}: MRC mode ${header.mode} is not supported (supported modes: ${SUPPORTED_MODES})`);
  const { nx, ny, nz, nsymbt } = header;
  if (![nx, ny, nz].every((n) => n >= 1)) throw new Error(`${source}: nonsensical MRC size nx×ny×nz = ${nx}×${ny}×${nz} (each must be at least 1)`);
  const axes = [header.mapc, header.mapr, header.maps];
  if ([...axes].sort().join() !== '1,2,3') {
    throw new Error(`${source}: axis order mapc, mapr, maps = ${axes.join(', ')} is not supported (expected a permutation of 1, 2, 3)`);
  }
  const dataOffset = HEADER_BYTES + nsymbt;
  if (nsymbt < 0 || dataOffset > bytes.byteLength) {
    throw new Error(`${source}: extended header size NSYMBT = ${nsymbt} does not fit the ${bytes.byteLength}-byte file`);
  }
  const expected = nx * ny * nz * bytesPerElement(dtype);
  const found = bytes.byteLength - dataOffset;
  // A longer file is accepted (trailing bytes are ignored), as other readers do.
  if (found < expected) {
    throw new Error(
      `${source}: truncated MRC file: expected ${expected} bytes of data after the ${dataOffset}-byte header ` +
        `(${nx}×${ny}×${nz} voxels of mode ${header.mode}), found ${found}`,
    );
  }

  const fileCounts = [nx, ny, nz];
  const extentAlong = (axis: number) => fileCounts[axes.indexOf(axis)];
  const sampling = [header.mx, header.my, header.mz];
  return {
    header,
    extendedHeader: bytes.slice(HEADER_BYTES, dataOffset),
    voxelSize: header.cella.map((length, i) => (sampling[i] > 0 ? length / sampling[i] : 0)) as Vec3,
    dtype,
    shape: [extentAlong(3), extentAlong(2), extentAlong(1)],
    dataOffset,
    littleEndian,
    source,
  };
}

/** The machine stamp's first byte: 0x44 little-endian (0x44 0x44, or 0x44 0x41 as many writers put it), 0x11 big-endian. */
function byteOrderOf(bytes: Uint8Array, source: string): boolean {
  const first = bytes[AT.machst];
  if (first === 0x44) return true;
  if (first === 0x11) return false;
  throw new Error(`${source}: unknown MRC machine stamp at byte ${AT.machst} (expected 0x44 0x44 little-endian or 0x11 0x11 big-endian)`);
}

/**
 * Decode sections [first, first + count) of the [Z, Y, X] data into `dst` (length count·Y·X, the layout's dtype;
 * float16 as raw half bits). Files in X, Y, Z axis order are copied as bytes; others are gathered voxel by voxel.
 */
export function decodeMrcInto(bytes: Uint8Array, layout: MrcLayout, dst: TypedArray, first = 0, count = layout.shape[0] - first): void {
  const [depth, height, width] = layout.shape;
  if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 0 && first + count <= depth)) {
    throw new RangeError(`${layout.source}: sections ${first}…${first + count - 1} are outside 0…${depth - 1}`);
  }
  if (dst.length !== count * height * width) throw new RangeError(`${layout.source}: destination holds ${dst.length} elements, ${count} sections need ${count * height * width}`);
  const { header, dtype, dataOffset, littleEndian } = layout;
  const elementBytes = bytesPerElement(dtype);
  const dstBytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);

  if (header.mapc === 1 && header.mapr === 2 && header.maps === 3) {
    const start = dataOffset + first * height * width * elementBytes;
    dstBytes.set(bytes.subarray(start, start + dstBytes.byteLength));
    if (!littleEndian) swapBytesInPlace(dstBytes, elementBytes);
    return;
  }
  // Stride in the file of one step along spatial axis 1 (X), 2 (Y), 3 (Z).
  const fileStrides = [1, header.nx, header.nx * header.ny];
  const axes = [header.mapc, header.mapr, header.maps];
  const [strideX, strideY, strideZ] = [1, 2, 3].map((axis) => fileStrides[axes.indexOf(axis)] * elementBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, bytes.byteLength - dataOffset);
  const read = elementReader(dtype);
  let i = 0;
  for (let z = first; z < first + count; z++) {
    for (let y = 0; y < height; y++) {
      const row = z * strideZ + y * strideY;
      for (let x = 0; x < width; x++) dst[i++] = read(view, row + x * strideX, littleEndian);
    }
  }
}

/** Read the element of `dtype` at a byte offset (float16 as its raw bits, as frames carry it). */
function elementReader(dtype: DType): (view: DataView, at: number, littleEndian: boolean) => number {
  switch (dtype) {
    case 'int8':
      return (view, at) => view.getInt8(at);
    case 'int16':
      return (view, at, le) => view.getInt16(at, le);
    case 'uint16':
    case 'float16':
      return (view, at, le) => view.getUint16(at, le);
    case 'float32':
      return (view, at, le) => view.getFloat32(at, le);
    default:
      throw new TypeError(`no MRC mode has dtype ${dtype}`);
  }
}

function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  for (let at = 0; at < bytes.length; at += width) {
    for (let lo = at, hi = at + width - 1; lo < hi; lo++, hi--) {
      const byte = bytes[lo];
      bytes[lo] = bytes[hi];
      bytes[hi] = byte;
    }
  }
}

/** Decode a whole MRC file; the data comes in a new array of shape [Z, Y, X]. `source` names the file in errors. */
export function decodeMrc(bytes: Uint8Array, source: string): MrcFile {
  const layout = readMrcLayout(bytes, source);
  const data = allocateTyped(layout.dtype, layout.shape[0] * layout.shape[1] * layout.shape[2]);
  decodeMrcInto(bytes, layout, data);
  return { header: layout.header, extendedHeader: layout.extendedHeader, voxelSize: layout.voxelSize, data: new NDArray(data, layout.shape, {}, layout.dtype) };
}

export interface MrcEncodeOptions {
  /** Voxel size along X, Y, Z in Å; default 0, 0, 0 (unknown). */
  voxelSize?: Vec3;
  /** Origin along X, Y, Z in Å; default 0, 0, 0. */
  origin?: Vec3;
  /** Up to 10 labels, each cut to 80 printable ASCII characters. */
  labels?: string[];
  /** ISPG; default 0 (image) for one section, 1 (volume) for several. */
  spaceGroup?: number;
}

/** An MRC2014 file (little-endian, X, Y, Z axis order, no extended header) holding a [Y, X] or [Z, Y, X] array. */
export function encodeMrc(array: NDArray, options: MrcEncodeOptions = {}): Uint8Array {
  const mode = MODES.find(([, dtype]) => dtype === array.dtype)?.[0];
  if (mode === undefined) throw new Error(`encodeMrc: dtype ${array.dtype} cannot be written to MRC (supported: ${WRITABLE_DTYPES})`);
  if (array.rank !== 2 && array.rank !== 3) throw new Error(`encodeMrc: MRC holds 2-D images or 3-D volumes/stacks, got shape [${array.shape.join(', ')}]`);
  if (array.size === 0) throw new Error(`encodeMrc: cannot write an empty array (shape [${array.shape.join(', ')}])`);
  const [nz, ny, nx] = array.rank === 2 ? [1, ...array.shape] : array.shape;
  const labels = options.labels ?? [];
  if (labels.length > MAX_LABELS) throw new Error(`encodeMrc: MRC holds at most ${MAX_LABELS} labels, got ${labels.length}`);
  const voxelSize = options.voxelSize ?? [0, 0, 0];
  const stats = densityStats(array.values());

  const bytes = new Uint8Array(HEADER_BYTES + array.data.byteLength);
  const view = new DataView(bytes.buffer);
  const ints = (at: number, ...values: number[]) => values.forEach((v, i) => view.setInt32(at + 4 * i, v, true));
  const floats = (at: number, ...values: number[]) => values.forEach((v, i) => view.setFloat32(at + 4 * i, v, true));
  ints(AT.nx, nx, ny, nz, mode, 0, 0, 0, nx, ny, nz); // N[XYZ], MODE, N[XYZ]START, M[XYZ]
  floats(AT.cella, voxelSize[0] * nx, voxelSize[1] * ny, voxelSize[2] * nz, 90, 90, 90);
  ints(AT.mapc, 1, 2, 3);
  floats(AT.dmin, stats.min, stats.max, stats.mean);
  ints(AT.ispg, options.spaceGroup ?? (nz === 1 ? 0 : 1), 0); // ISPG, NSYMBT (no extended header)
  ints(AT.nversion, MRC_VERSION);
  floats(AT.origin, ...(options.origin ?? [0, 0, 0]));
  bytes.set([0x4d, 0x41, 0x50, 0x20, 0x44, 0x44, 0, 0], AT.map); // "MAP ", little-endian machine stamp
  floats(AT.rms, stats.rms);
  ints(AT.nlabl, labels.length);
  const text = Buffer.from(bytes.buffer);
  labels.forEach((label, k) => text.write(asciiLabel(label), AT.labels + k * LABEL_BYTES, 'latin1'));
  // Frames are little-endian in memory (as on every platform Node runs emflow on), so the data is copied as is.
  bytes.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), HEADER_BYTES);
  return bytes;
}

function asciiLabel(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, LABEL_BYTES);
}

/** DMIN, DMAX, DMEAN and RMS (the standard deviation from the mean, as MRC2014 defines it), accumulated in float64. */
function densityStats(values: ArrayLike<number>): { min: number; max: number; mean: number; rms: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - mean) ** 2;
  return { min, max, mean, rms: Math.sqrt(squares / values.length) };
}
