// What the browser is sent of a frame: images reduced to the pane's size (block means), plots decimated to
// the points a pane can show (min and max per bucket, so peaks survive), tables cut to their first rows,
// and edge-tap summaries. Pure functions of a frame; the binary message layout is in protocol.ts.
import type { Frame, NDArray, TableFrame } from '@emflow/sdk';
import type { DisplayHeader, EdgePeek } from './protocol.js';

/** Rows of a table sent to a pane or an edge tap. */
export const TABLE_ROWS = 200;
const PEEK_ROWS = 8;
const THUMBNAIL = 128;
const JSON_TEXT = 4000;

export interface Image {
  data: Float32Array;
  width: number;
  height: number;
}

/**
 * Block means over f × f squares, f the smallest integer factor that fits the image in maxWidth × maxHeight.
 * Non-finite pixels are left out of a block's mean; a block with none finite is NaN.
 */
export function downsample(values: ArrayLike<number>, width: number, height: number, maxWidth: number, maxHeight: number): Image {
  const factor = Math.max(1, Math.ceil(Math.max(width / Math.max(1, maxWidth), height / Math.max(1, maxHeight))));
  const outWidth = Math.ceil(width / factor);
  const outHeight = Math.ceil(height / factor);
  const data = new Float32Array(outWidth * outHeight);
  if (factor === 1) {
    for (let i = 0; i < data.length; i++) data[i] = values[i];
    return { data, width, height };
  }
  const sums = new Float64Array(outWidth);
  const counts = new Uint32Array(outWidth);
  for (let oy = 0; oy < outHeight; oy++) {
    sums.fill(0);
    counts.fill(0);
    for (let y = oy * factor, yEnd = Math.min(height, y + factor); y < yEnd; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const v = values[row + x];
        if (Number.isFinite(v)) {
          const ox = (x / factor) | 0;
          sums[ox] += v;
          counts[ox]++;
        }
      }
    }
    for (let ox = 0; ox < outWidth; ox++) data[oy * outWidth + ox] = counts[ox] ? sums[ox] / counts[ox] : NaN;
  }
  return { data, width: outWidth, height: outHeight };
}

export interface Stats {
  min: number;
  max: number;
  mean: number;
  std: number;
}

/** Statistics of the finite values (population std, as numpy's default); NaN for each when there are none. */
export function finiteStats(values: ArrayLike<number>): Stats {
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    n++;
    if (v < min) min = v;
    if (v > max) max = v;
    // Welford: no cancellation on large images of large values
    const delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
  }
  return n ? { min, max, mean, std: Math.sqrt(m2 / n) } : { min: NaN, max: NaN, mean: NaN, std: NaN };
}

/** Smallest and largest finite value (NaN for both when there is none): what an image header needs, in one cheap pass. */
export function finiteRange(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // false for NaN and ±Infinity
    if (!(v - v === 0)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: NaN, max: NaN };
}

/** The 2-D plane of an array that stands for it: itself, or the middle section along each leading axis. */
export function planeOf(frame: NDArray): { values: ArrayLike<number>; width: number; height: number } | undefined {
  if (frame.rank < 2) return undefined;
  const height = frame.shape[frame.rank - 2];
  const width = frame.shape[frame.rank - 1];
  const plane = width * height;
  let offset = 0;
  let stride = plane;
  for (let axis = frame.rank - 3; axis >= 0; axis--) {
    offset += Math.floor(frame.shape[axis] / 2) * stride;
    stride *= frame.shape[axis];
  }
  return { values: frame.values().subarray(offset, offset + plane), width, height };
}

/**
 * Indices of points kept when a series of `length` points is shown on `maxPoints`: every point when it fits,
 * else per bucket the first point and where each series has its minimum and maximum.
 */
export function decimationIndices(series: readonly ArrayLike<number>[], length: number, maxPoints: number): Uint32Array {
  if (length <= maxPoints) return Uint32Array.from({ length }, (_, i) => i);
  const perBucket = 1 + 2 * series.length;
  const buckets = Math.max(1, Math.floor(maxPoints / perBucket));
  const kept: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * length) / buckets);
    const end = Math.floor(((b + 1) * length) / buckets);
    const picks = new Set([start]);
    for (const ys of series) {
      let lo = start;
      let hi = start;
      for (let i = start; i < end; i++) {
        if (ys[i] < ys[lo]) lo = i;
        if (ys[i] > ys[hi]) hi = i;
      }
      picks.add(lo).add(hi);
    }
    kept.push(...[...picks].sort((a, b2) => a - b2));
  }
  if (kept[kept.length - 1] !== length - 1) kept.push(length - 1);
  return Uint32Array.from(kept);
}

/** A table column as float64 (integers, bigints, booleans and nulls as numbers; NaN where not numeric). */
function numericColumn(frame: TableFrame, index: number): Float64Array {
  const column = frame.table.getChildAt(index);
  const out = new Float64Array(frame.table.numRows);
  for (let i = 0; i < out.length; i++) {
    const v: unknown = column?.get(i);
    out[i] = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) : NaN;
  }
  return out;
}

/** A value as JSON carries it: bigints as numbers when exact (else strings), typed arrays as arrays, dates as ISO text. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, jsonSafe);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object' && 'toJSON' in value && typeof value.toJSON === 'function') return jsonSafe(value.toJSON());
  return value;
}

function tableRows(frame: TableFrame, limit: number): unknown[][] {
  const { table } = frame;
  const rows: unknown[][] = [];
  for (let i = 0; i < Math.min(limit, table.numRows); i++) rows.push(table.schema.fields.map((_, c) => jsonSafe(table.getChildAt(c)?.get(i))));
  return rows;
}

export interface DisplayMessage {
  header: DisplayHeader;
  payload?: ArrayBufferView;
}

export interface PaneSize {
  width: number;
  height: number;
}

type Base = { node: string; run: number; index: number; params: Record<string, unknown> };

/**
 * The message a display pane gets for a frame of its kind, or an Error saying what the pane cannot show
 * (e.g. a table sent to an image pane).
 */
export function displayMessage(view: string, frame: Frame, base: Base, pane: PaneSize): DisplayMessage | Error {
  if (view === 'image') {
    const plane = frame.kind === 'ndarray' ? planeOf(frame) : undefined;
    if (!plane) return new Error(`an image display needs a 2-D array, got ${frame.kind === 'ndarray' ? `shape [${frame.shape.join(', ')}]` : `a ${frame.kind} frame`}`);
    const small = downsample(plane.values, plane.width, plane.height, pane.width, pane.height);
    const { min, max } = finiteRange(plane.values);
    const meta = (frame as NDArray).meta;
    const chosen = typeof meta.displayMin === 'number' && typeof meta.displayMax === 'number' ? { range: { min: meta.displayMin, max: meta.displayMax } } : {};
    return {
      header: { kind: 'image', ...base, width: small.width, height: small.height, source: { width: plane.width, height: plane.height }, dtype: (frame as NDArray).dtype, min, max, ...chosen },
      payload: small.data,
    };
  }
  if (view === 'plot') {
    if (frame.kind !== 'table' || frame.table.numCols < 2) return new Error(`a plot display needs a table with an x column and at least one series, got ${frame.kind === 'table' ? `${frame.table.numCols} column(s)` : `a ${frame.kind} frame`}`);
    const names = frame.table.schema.fields.map((f) => f.name);
    const columns = names.map((_, i) => numericColumn(frame, i));
    const keep = decimationIndices(columns.slice(1), frame.table.numRows, Math.max(64, 2 * pane.width));
    const payload = new Float64Array(keep.length * columns.length);
    columns.forEach((column, c) => keep.forEach((row, i) => (payload[c * keep.length + i] = column[row])));
    return { header: { kind: 'plot', ...base, x: names[0], series: names.slice(1), length: keep.length, sourceLength: frame.table.numRows }, payload };
  }
  if (view === 'table') {
    if (frame.kind !== 'table') return new Error(`a table display needs a table, got a ${frame.kind} frame`);
    return { header: { kind: 'table', ...base, columns: frame.table.schema.fields.map((f) => f.name), numRows: frame.table.numRows, rows: tableRows(frame, TABLE_ROWS) } };
  }
  return new Error(`unknown display view "${view}" (image, plot or table)`);
}

/** The binary websocket message: u32 LE header length, the JSON header, zero padding to 8, the payload. */
export function encodeDisplayMessage({ header, payload }: DisplayMessage): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const start = Math.ceil((4 + json.length) / 8) * 8;
  const message = Buffer.alloc(start + (payload?.byteLength ?? 0));
  message.writeUInt32LE(json.length, 0);
  json.copy(message, 4);
  if (payload) message.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), start);
  return message;
}

/** An edge tap's summary of a frame. */
export function peek(frame: Frame): EdgePeek {
  if (frame.kind === 'table') return { kind: 'table', columns: frame.table.schema.fields.map((f) => f.name), numRows: frame.table.numRows, rows: tableRows(frame, PEEK_ROWS) };
  if (frame.kind === 'json') {
    const text = JSON.stringify(frame.value, null, 2) ?? 'undefined';
    return { kind: 'json', text: text.length > JSON_TEXT ? `${text.slice(0, JSON_TEXT)}…` : text };
  }
  const stats = finiteStats(frame.values());
  const plane = planeOf(frame);
  if (!plane) return { kind: 'ndarray', dtype: frame.dtype, shape: [...frame.shape], stats };
  const small = downsample(plane.values, plane.width, plane.height, THUMBNAIL, THUMBNAIL);
  const range = finiteRange(small.data);
  const scale = range.max > range.min ? 255 / (range.max - range.min) : 0;
  const bytes = Uint8Array.from(small.data, (v) => (Number.isFinite(v) ? Math.round((v - range.min) * scale) : 0));
  return { kind: 'ndarray', dtype: frame.dtype, shape: [...frame.shape], stats, thumbnail: { width: small.width, height: small.height, data: Buffer.from(bytes).toString('base64') } };
}
