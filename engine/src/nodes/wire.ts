// Records on the TCP connections between the engine and its agents: a JSON header, then `bytes` bytes of body
// (frame bytes, for slot records). Framing: a 4-byte big-endian header length, the header's UTF-8 JSON, the body.
// The body is handed over as the socket's own chunks, so that it is copied once more only into its slot file.
import { createConnection, type Socket } from 'node:net';

export interface RecordHeader {
  t: string;
  bytes?: number;
  [field: string]: unknown;
}

/** What is done with each record read from a connection. */
export type RecordHandler = (header: RecordHeader, body: Buffer[]) => void;

/** Headers hold a record's type, slot fields or an agent's messages (control lines travel as bodies). */
export const MAX_HEADER_BYTES = 16 << 20;
/** A body: a frame (the per-frame maximum of a slot pool is below this, 1 TiB) or a control line. */
const MAX_BODY_BYTES = 2 ** 40;

export function encodeHeader(header: RecordHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(json.length);
  return Buffer.concat([prefix, json]);
}

/**
 * Queue a record on the socket, after those queued before it. Nothing waits for the socket to drain: what is in
 * flight is bounded by the protocol (one call at a time per operator, each with its frames).
 */
export function writeRecord(socket: Socket, header: RecordHeader, body: Buffer[] = []): void {
  const bytes = body.reduce((n, b) => n + b.length, 0);
  socket.write(encodeHeader(bytes ? { ...header, bytes } : header));
  for (const chunk of body) socket.write(chunk);
}

export class WireError extends Error {
  override name = 'WireError';
}

/**
 * Reads records from a byte stream: `push` each chunk as it arrives; `onRecord` gets each header with its body's
 * chunks (slices of the pushed chunks, never copied). A malformed stream throws a WireError from `push`.
 */
export class RecordReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private header?: RecordHeader;
  /** lowered for a peer not yet authenticated: nothing large is buffered before its first record is checked */
  maxHeaderBytes = MAX_HEADER_BYTES;
  maxBodyBytes = MAX_BODY_BYTES;

  constructor(private readonly onRecord: (header: RecordHeader, body: Buffer[]) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (!this.header) {
        if (this.pendingBytes < 4) return;
        const length = this.peek(4).readUInt32BE(0);
        if (length === 0 || length > this.maxHeaderBytes) throw new WireError(`a record header of ${length} bytes (at most ${this.maxHeaderBytes})`);
        if (this.pendingBytes < 4 + length) return;
        this.take(4);
        this.header = parseHeader(Buffer.concat(this.take(length)).toString('utf8'), this.maxBodyBytes);
      }
      const bytes = this.header.bytes ?? 0;
      if (this.pendingBytes < bytes) return;
      const header = this.header;
      this.header = undefined;
      this.onRecord(header, this.take(bytes));
    }
  }

  private peek(n: number): Buffer {
    return this.pending[0].length >= n ? this.pending[0] : Buffer.concat(this.pending).subarray(0, n);
  }

  /** The next n bytes as chunks. */
  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const first = this.pending[0];
      if (first.length <= n) {
        out.push(first);
        this.pending.shift();
        n -= first.length;
        this.pendingBytes -= first.length;
      } else {
        out.push(first.subarray(0, n));
        this.pending[0] = first.subarray(n);
        this.pendingBytes -= n;
        n = 0;
      }
    }
    return out;
  }
}

function parseHeader(text: string, maxBodyBytes: number): RecordHeader {
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw new WireError('a record header that is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header) || typeof (header as RecordHeader).t !== 'string') {
    throw new WireError('a record header without a type');
  }
  const { bytes } = header as RecordHeader;
  if (bytes !== undefined && !(Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= maxBodyBytes)) throw new WireError(`a record body of ${String(bytes)} bytes`);
  return header as RecordHeader;
}

/**
 * Read a socket's records until it closes (the reader is returned, to change its limits); a malformed stream, or an
 * error thrown by `onRecord`, destroys the socket with that error.
 */
export function readRecords(socket: Socket, onRecord: RecordHandler): RecordReader {
  const reader = new RecordReader(onRecord);
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (error) {
      socket.destroy(error as Error);
    }
  });
  return reader;
}

/** host:port → what net.connect takes. */
export function tcpAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** A TCP connection to host:port, usable at once (writes wait for the connection); no Nagle delay on small records. */
export function openTcp(address: string): Socket {
  const socket = createConnection(tcpAddress(address), () => socket.setNoDelay(true));
  return socket;
}

/** openTcp, resolved once connected. */
export function connect(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = openTcp(address).once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
