// Binary display messages (server → browser): u32 little-endian header length H, H bytes of UTF-8 JSON (a
// DisplayHeader), zero padding to a multiple of 8, then the payload the header describes.
import type { DisplayHeader, ImageDisplay, PlotDisplay, TableDisplay } from '@emflow/engine/protocol';

export type DisplayMessage =
  | { header: ImageDisplay; pixels: Float32Array }
  | { header: PlotDisplay; columns: Float64Array[] }
  | { header: TableDisplay };

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function decodeDisplayMessage(buffer: ArrayBuffer): DisplayMessage {
  if (buffer.byteLength < 4) throw new Error(`display message of ${buffer.byteLength} bytes: too short for its header length`);
  const headerLength = new DataView(buffer).getUint32(0, true);
  if (4 + headerLength > buffer.byteLength) throw new Error(`display message: header of ${headerLength} bytes in a message of ${buffer.byteLength}`);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength))) as DisplayHeader;
  const offset = align8(4 + headerLength);
  const payload = Math.max(0, buffer.byteLength - offset);
  switch (header.kind) {
    case 'image': {
      const count = header.width * header.height;
      if (payload < count * 4) throw new Error(`image display ${header.width}×${header.height}: payload of ${payload} bytes, expected ${count * 4}`);
      return { header, pixels: new Float32Array(buffer, offset, count) };
    }
    case 'plot': {
      const count = (header.series.length + 1) * header.length;
      if (payload < count * 8) throw new Error(`plot display of ${header.series.length} series × ${header.length}: payload of ${payload} bytes, expected ${count * 8}`);
      const columns = Array.from({ length: header.series.length + 1 }, (_, i) => new Float64Array(buffer, offset + i * header.length * 8, header.length));
      return { header, columns };
    }
    case 'table':
      return { header };
    default:
      throw new Error(`display message of unknown kind ${JSON.stringify((header as { kind?: unknown }).kind)}`);
  }
}
