// TIFF: grayscale pages decoded with geotiff (every integer and float sample type, the common lossless
// compressions), and a baseline writer (little-endian, uncompressed, one page per section) that any reader opens.
import { fromArrayBuffer, type GeoTIFFImage } from 'geotiff';
import { NDArray, viewTyped, type DType, type FrameMeta, type TypedArray } from '@emflow/sdk';

/** SampleFormat (1 unsigned, 2 signed, 3 float) and BitsPerSample of each dtype a TIFF carries. */
const SAMPLE_TYPES: Record<Exclude<DType, 'float16'>, { format: 1 | 2 | 3; bits: number }> = {
  uint8: { format: 1, bits: 8 },
  uint16: { format: 1, bits: 16 },
  uint32: { format: 1, bits: 32 },
  int8: { format: 2, bits: 8 },
  int16: { format: 2, bits: 16 },
  int32: { format: 2, bits: 32 },
  float32: { format: 3, bits: 32 },
  float64: { format: 3, bits: 64 },
};

/** The compressions we read (all lossless; each is exercised by a test fixture). */
const SUPPORTED_COMPRESSIONS: Record<number, string> = { 1: 'none', 5: 'LZW', 8: 'deflate', 32773: 'PackBits', 32946: 'deflate' };
/** Names of other compressions met in the wild, so that the error says what the file is. */
const OTHER_COMPRESSIONS: Record<number, string> = {
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  6: 'old-style JPEG',
  7: 'JPEG',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'Zstandard',
  50001: 'WebP',
};

/** Ångström (the unit emflow's MRC frames carry too) per ResolutionUnit (2 inch, 3 cm) and per length unit name. */
const ANGSTROM_PER_RESOLUTION_UNIT: Record<number, number> = { 2: 2.54e8, 3: 1e8 };
const ANGSTROM_PER_UNIT: Record<string, number> = { Å: 1, A: 1, angstrom: 1, nm: 10, µm: 1e4, um: 1e4, micron: 1e4, '\\u00B5m': 1e4, mm: 1e7, cm: 1e8 };

const RESOLUTION_UNIT_CM = 3;

function describeCompression(code: number): string {
  const name = SUPPORTED_COMPRESSIONS[code] ?? OTHER_COMPRESSIONS[code];
  return name ? `${code} (${name})` : String(code);
}

function dtypeOfSamples(format: number, bits: number): DType | undefined {
  return (Object.keys(SAMPLE_TYPES) as (keyof typeof SAMPLE_TYPES)[]).find((d) => SAMPLE_TYPES[d].format === format && SAMPLE_TYPES[d].bits === bits);
}

function isTiff(bytes: Uint8Array): boolean {
  const little = bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[3] === 0;
  const big = bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0;
  // 42: classic TIFF; 43: BigTIFF, which geotiff reads as well.
  const version = little ? bytes[2] : big ? bytes[3] : 0;
  return bytes.length >= 8 && (version === 42 || version === 43);
}

/**
 * Pixel size [y, x] in Å, from XResolution/YResolution (pixels per unit). ResolutionUnit 2 is the inch (the
 * TIFF default when the tag is absent), 3 the centimetre: size = Å per unit ÷ pixels per unit. With unit 1
 * ("none"), ImageJ names the length unit in ImageDescription (`unit=nm`); otherwise no absolute size is known.
 */
async function pixelSizeAngstrom(image: GeoTIFFImage): Promise<number[] | undefined> {
  const directory = image.getFileDirectory();
  const x = (await directory.loadValue('XResolution')) as ArrayLike<number> | undefined;
  const y = (await directory.loadValue('YResolution')) as ArrayLike<number> | undefined;
  if (!x || !y) return undefined;
  const unit = ((await directory.loadValue('ResolutionUnit')) as number | undefined) ?? 2;
  const description = ((await directory.loadValue('ImageDescription')) as string | undefined) ?? '';
  const imagejUnit = description.startsWith('ImageJ=') ? /^unit=(.+)$/m.exec(description)?.[1].trim() : undefined;
  const angstromPerUnit = ANGSTROM_PER_RESOLUTION_UNIT[unit] ?? (unit === 1 && imagejUnit ? ANGSTROM_PER_UNIT[imagejUnit] : undefined);
  const perUnitX = x[0] / x[1];
  const perUnitY = y[0] / y[1];
  if (!angstromPerUnit || !(perUnitX > 0 && perUnitY > 0 && Number.isFinite(perUnitX) && Number.isFinite(perUnitY))) return undefined;
  return [angstromPerUnit / perUnitY, angstromPerUnit / perUnitX];
}

/** geotiff reads past the end of a short file without complaint, so every strip/tile is checked to lie inside. */
async function checkChunksInside(image: GeoTIFFImage, fileLength: number, where: string): Promise<void> {
  const directory = image.getFileDirectory();
  const tiled = directory.hasTag('TileOffsets');
  const offsets = (await directory.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as ArrayLike<number> | undefined;
  const counts = (await directory.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as ArrayLike<number> | undefined;
  if (!offsets || !counts) throw new Error(`${where}: has no ${tiled ? 'TileOffsets/TileByteCounts' : 'StripOffsets/StripByteCounts'}, so its pixels cannot be found`);
  for (let i = 0; i < offsets.length; i++) {
    const end = offsets[i] + (counts[i] ?? 0);
    if (end > fileLength) throw new Error(`${where}: truncated file: ${tiled ? 'tile' : 'strip'} ${i} ends at byte ${end}, the file has ${fileLength} bytes`);
  }
}

async function decodePage(image: GeoTIFFImage, page: number, littleEndian: boolean, fileLength: number, source: string): Promise<NDArray> {
  const where = `${source}: page ${page}`;
  const samples = image.getSamplesPerPixel();
  if (samples !== 1) throw new Error(`${where}: SamplesPerPixel is ${samples}; only single-sample (grayscale) images are read, convert colour images to grayscale first`);
  const directory = image.getFileDirectory();
  if (directory.getValue('PhotometricInterpretation') === 3) throw new Error(`${where}: palette-colour images are not supported (expected grayscale)`);
  const compression = (directory.getValue('Compression') as number | undefined) ?? 1;
  if (!SUPPORTED_COMPRESSIONS[compression]) {
    throw new Error(`${where}: compression ${describeCompression(compression)} is not supported (expected none, LZW, deflate or PackBits)`);
  }
  const format = image.getSampleFormat();
  const bits = image.getBitsPerSample();
  const dtype = dtypeOfSamples(format, bits);
  if (!dtype) {
    const kind = { 1: 'unsigned integer', 2: 'signed integer', 3: 'floating-point' }[format] ?? `SampleFormat ${format}`;
    throw new Error(`${where}: ${bits}-bit ${kind} samples are not supported (expected 8/16/32-bit integers or 32/64-bit floats)`);
  }
  const predictor = ((await directory.loadValue('Predictor')) as number | undefined) ?? 1;
  if (!littleEndian && predictor !== 1 && bits > 8) {
    // geotiff 3.0.5 undoes predictors in host byte order, which silently corrupts these pixels (geotiff.js PR #543).
    throw new Error(`${where}: big-endian ${bits}-bit samples with Predictor ${predictor} are not supported (the decoder would return wrong values); re-save the file little-endian or without a predictor`);
  }
  await checkChunksInside(image, fileLength, where);
  const raster = (await image.readRasters({ interleave: true })) as TypedArray;
  const meta: FrameMeta = { source, page };
  const pixelSize = await pixelSizeAngstrom(image);
  if (pixelSize) Object.assign(meta, { pixelSize, units: 'Å' });
  // A plain view of geotiff's array (which carries extra width/height properties), no copy.
  return new NDArray(viewTyped(dtype, raster.buffer, raster.byteOffset, raster.length), [image.getHeight(), image.getWidth()], meta, dtype);
}

/** Every page (IFD) of a grayscale TIFF as an image [height, width]. `source` names the file in errors and meta. */
export async function decodeTiff(bytes: Uint8Array, source: string): Promise<NDArray[]> {
  // no bytes quoted: a file that is not a TIFF may be anyone's file
  if (!isTiff(bytes)) throw new Error(`${source}: not a TIFF file: no "II*\\0" or "MM\\0*" signature at byte 0`);
  let images: GeoTIFFImage[];
  let littleEndian: boolean;
  try {
    const tiff = await fromArrayBuffer(new Uint8Array(bytes).buffer);
    // Lazily loaded tag arrays (many strip offsets) are read little-endian in geotiff 3.0.5 whatever the file's
    // byte order (geotiff.js issue #535); eager loading reads them in the file's order, at no cost in memory.
    tiff.parser.eager = true;
    littleEndian = tiff.littleEndian;
    const count = await tiff.getImageCount();
    images = await Promise.all(Array.from({ length: count }, (_, i) => tiff.getImage(i)));
  } catch (error) {
    throw new Error(`${source}: unreadable TIFF directory, the file is probably truncated or damaged (${(error as Error).message})`);
  }
  const pages: NDArray[] = [];
  for (const [page, image] of images.entries()) pages.push(await decodePage(image, page, littleEndian, bytes.length, source));
  return pages;
}

// ------------------------------------------------------------------------------------------------- writing

const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;

interface Entry {
  tag: number;
  type: typeof SHORT | typeof LONG | typeof RATIONAL;
  /** One number per SHORT/LONG value; numerator, denominator pairs for RATIONAL. */
  values: number[];
}

/** A positive number as a RATIONAL (two uint32): the largest denominator that keeps the numerator in range. */
function toRational(value: number): [number, number] {
  const denominator = Math.max(1, Math.min(0xffffffff, Math.floor(0xffffffff / Math.max(1, Math.ceil(value)))));
  return [Math.round(value * denominator), denominator];
}

/** XResolution/YResolution in pixels per cm from an in-plane pixel size [y, x], when its unit is a known length. */
function resolutionEntries(meta: FrameMeta): Entry[] {
  const angstromPerUnit = typeof meta.units === 'string' ? ANGSTROM_PER_UNIT[meta.units] : undefined;
  const size = meta.pixelSize?.slice(-2);
  if (!angstromPerUnit || size?.length !== 2 || !size.every((s) => s > 0 && Number.isFinite(s))) return [];
  const [y, x] = size.map((s) => ANGSTROM_PER_RESOLUTION_UNIT[RESOLUTION_UNIT_CM] / (s * angstromPerUnit));
  return [
    { tag: 282, type: RATIONAL, values: toRational(x) },
    { tag: 283, type: RATIONAL, values: toRational(y) },
    { tag: 296, type: SHORT, values: [RESOLUTION_UNIT_CM] },
  ];
}

function entryBytes(entry: Entry): number {
  return entry.type === SHORT ? 2 * entry.values.length : 4 * entry.values.length;
}

/** Bytes of an IFD with these entries: count, 12-byte entries, next-IFD offset, then values over 4 bytes. */
function ifdLength(entries: Entry[]): number {
  return 2 + 12 * entries.length + 4 + entries.reduce((sum, e) => sum + (entryBytes(e) > 4 ? entryBytes(e) : 0), 0);
}

function writeIfd(view: DataView, offset: number, entries: Entry[], nextIfd: number): void {
  let extra = offset + 2 + 12 * entries.length + 4;
  view.setUint16(offset, entries.length, true);
  entries.forEach((entry, i) => {
    const at = offset + 2 + 12 * i;
    view.setUint16(at, entry.tag, true);
    view.setUint16(at + 2, entry.type, true);
    view.setUint32(at + 4, entry.type === RATIONAL ? entry.values.length / 2 : entry.values.length, true);
    let valueAt = at + 8;
    if (entryBytes(entry) > 4) {
      view.setUint32(at + 8, extra, true);
      valueAt = extra;
      extra += entryBytes(entry);
    }
    entry.values.forEach((value, k) => (entry.type === SHORT ? view.setUint16(valueAt + 2 * k, value, true) : view.setUint32(valueAt + 4 * k, value, true)));
  });
  view.setUint32(offset + 2 + 12 * entries.length, nextIfd, true);
}

const align = (offset: number, to: number) => Math.ceil(offset / to) * to;

/**
 * A baseline little-endian TIFF: a 2-D image as one page, a 3-D array as one page per section along axis 0,
 * each page one uncompressed strip. float16 is widened to float32 (lossless; half-float TIFFs are rarely
 * readable elsewhere). A pixel size in Å, nm, µm, mm or cm is kept as XResolution/YResolution per cm.
 */
export function encodeTiff(array: NDArray): Uint8Array {
  if (array.rank !== 2 && array.rank !== 3) throw new Error(`encodeTiff: expected a 2-D image or a 3-D stack, got shape [${array.shape.join(', ')}]`);
  const [height, width] = array.shape.slice(-2);
  const pages = array.rank === 3 ? array.shape[0] : 1;
  const values = array.values();
  const dtype = array.dtype === 'float16' ? 'float32' : array.dtype;
  const { format, bits } = SAMPLE_TYPES[dtype];
  const pageBytes = height * width * (bits / 8);
  const resolution = resolutionEntries(array.meta);
  const entriesAt = (stripOffset: number): Entry[] => [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: [bits] },
    { tag: 259, type: SHORT, values: [1] },
    { tag: 262, type: SHORT, values: [1] }, // BlackIsZero
    { tag: 273, type: LONG, values: [stripOffset] },
    { tag: 277, type: SHORT, values: [1] },
    { tag: 278, type: LONG, values: [height] },
    { tag: 279, type: LONG, values: [pageBytes] },
    ...resolution,
    { tag: 339, type: SHORT, values: [format] },
  ];
  // Each page: its IFD, then its pixels 8-byte aligned (so readers may view them in place), then the next page.
  const ifdBytes = ifdLength(entriesAt(0));
  const pageStride = align(align(ifdBytes, 8) + pageBytes, 8);
  const total = 8 + pages * pageStride;
  if (total > 0xffffffff) throw new Error(`encodeTiff: ${total} bytes exceed the 4 GiB a classic TIFF can address`);

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, 8, true);
  // emflow assumes a little-endian host (as its .npy and Arrow frames do), so pixel bytes are copied as they are.
  const pixels = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  for (let page = 0; page < pages; page++) {
    const ifdAt = 8 + page * pageStride;
    const stripAt = ifdAt + align(ifdBytes, 8);
    writeIfd(view, ifdAt, entriesAt(stripAt), page + 1 < pages ? ifdAt + pageStride : 0);
    out.set(pixels.subarray(page * pageBytes, (page + 1) * pageBytes), stripAt);
  }
  return out;
}
