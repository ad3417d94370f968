// Newline-delimited JSON-RPC 2.0 over a stream socket, both directions on one connection.
import type { Socket } from 'node:net';
import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient, type JSONRPCParams } from 'json-rpc-2.0';

export type Channel = JSONRPCServerAndClient<void, void>;

/** Wrap a connected socket. `onClose` fires once when the peer goes away; pending requests are rejected then. */
export function openChannel(socket: Socket, onClose: (reason: string) => void = () => {}): Channel {
  const channel: Channel = new JSONRPCServerAndClient(
    new JSONRPCServer({ errorListener: () => {} }),
    new JSONRPCClient((payload: unknown) => {
      if (!socket.destroyed) socket.write(JSON.stringify(payload) + '\n');
    }),
    { errorListener: () => {} },
  );
  let pending = '';
  socket.setEncoding('utf8');
  socket.setNoDelay(true);
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
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
