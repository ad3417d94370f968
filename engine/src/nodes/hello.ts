// The first record on a TCP connection of a multi-node run says who is connecting: small, without a body, and soon.
// Until then nothing a peer announces is buffered, so a stranger on the network costs at most one small header.
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { readRecords, type RecordHandler, type RecordHeader } from './wire.js';

/** A connection must say who it is within this, in a record of at most this size. */
const HELLO_MS = 10_000;
const HELLO_BYTES = 4096;

/** Is `given` (hex, from a hello) this key? In constant time; an empty key matches nothing. */
export function sameKey(given: unknown, key: Buffer): boolean {
  const bytes = Buffer.from(typeof given === 'string' ? given : '', 'hex');
  return key.length > 0 && bytes.length === key.length && timingSafeEqual(bytes, key);
}

/**
 * Read a connection's records once its first one, a hello, is accepted: `greet` returns what handles the records
 * after it, or undefined to cut the connection off (as are a first record that is not small and bodiless, and
 * silence past HELLO_MS).
 */
export function awaitHello(socket: Socket, greet: (hello: RecordHeader) => RecordHandler | undefined): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const silent = setTimeout(() => socket.destroy(), HELLO_MS);
  socket.on('close', () => clearTimeout(silent));
  let handle: RecordHandler = (header) => {
    clearTimeout(silent);
    const next = header.t === 'hello' ? greet(header) : undefined;
    if (!next) return void socket.destroy();
    reader.maxHeaderBytes = Number.MAX_SAFE_INTEGER;
    reader.maxBodyBytes = Number.MAX_SAFE_INTEGER;
    handle = next;
  };
  const reader = readRecords(socket, (header, body) => handle(header, body));
  reader.maxHeaderBytes = HELLO_BYTES;
  reader.maxBodyBytes = 0;
}
