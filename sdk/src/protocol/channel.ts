// Newline-delimited JSON-RPC 2.0 over a stream socket, both directions on one connection.
import type { Socket } from 'node:net';
import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient, type JSONRPCParams } from 'json-rpc-2.0';

export type Channel = JSONRPCServerAndClient<void, void>;

const MiB = 1024 * 1024;
/**
 * The largest message either side accepts. Messages carry handles and params, never pixels, so a peer that sends
 * more (or never a newline) is broken or hostile: its connection is closed.
 */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * MiB;
const NEWLINE = 0x0a;

/**
 * Wrap a connected socket. `onClose` fires once when the peer goes away, or is cut off for sending a message larger
 * than MAX_CONTROL_MESSAGE_BYTES or one that is not JSON; pending requests are rejected then, with that reason.
 */
export function openChannel(socket: Socket, onClose: (reason: string) => void = () => {}): Channel {
  const channel: Channel = new JSONRPCServerAndClient(
    new JSONRPCServer({ errorListener: () => {} }),
    new JSONRPCClient((payload: unknown) => {
      if (!socket.destroyed) socket.write(JSON.stringify(payload) + '\n');
    }),
    { errorListener: () => {} },
  );
  // Bytes of the message not yet ended by a newline, kept as the chunks they came in (no re-scanning, no copies
  // until a message is complete), and bounded: a peer that never sends a newline is cut off, not buffered forever.
  let parts: Buffer[] = [];
  let pendingBytes = 0;
  socket.setNoDelay(true);
  socket.on('data', (data: Buffer) => {
    let chunk = data;
    while (!socket.destroyed) {
      const newline = chunk.indexOf(NEWLINE);
      if (pendingBytes + (newline < 0 ? chunk.length : newline) > MAX_CONTROL_MESSAGE_BYTES) {
        parts = [];
        socket.destroy(new Error(`sent a control message larger than ${MAX_CONTROL_MESSAGE_BYTES / MiB} MiB`));
        return;
      }
      if (newline < 0) {
        if (chunk.length) parts.push(chunk);
        pendingBytes += chunk.length;
        return;
      }
      parts.push(chunk.subarray(0, newline));
      const line = Buffer.concat(parts).toString('utf8');
      parts = [];
      pendingBytes = 0;
      chunk = chunk.subarray(newline + 1);
      if (line.trim() === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        socket.destroy(new Error(`malformed JSON on the control socket: ${line.slice(0, 120)}`));
        return;
      }
      void channel.receiveAndSend(message, undefined, undefined);
    }
  });
  let closed = false;
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    channel.rejectAllPendingRequests(reason);
    onClose(reason);
  };
  socket.on('error', (error) => close(error.message));
  socket.on('close', () => close('connection closed'));
  return channel;
}

/** A typed request helper. */
export function call<T>(channel: Channel, method: string, params: object): Promise<T> {
  return Promise.resolve(channel.request(method, params as JSONRPCParams, undefined)) as Promise<T>;
}
