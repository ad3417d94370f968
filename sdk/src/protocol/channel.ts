// Newline-delimited JSON-RPC 2.0 over a stream socket, both directions on one connection.
//
// Written here rather than taken from a JSON-RPC library: every frame crosses this channel twice (a call and
// its answer), so its cost is the floor of a hand-off. A library's layers of promises, listeners and
// validation cost ~65 µs per round trip here, three times the socket's own; this peer does only what the
// protocol needs: match answers to calls by id, dispatch calls to handlers, answer errors with their code.
import type { Socket } from 'node:net';

const MiB = 1024 * 1024;
/**
 * The largest message either side accepts. Messages carry handles and params, never pixels, so a peer that sends
 * more (or never a newline) is broken or hostile: its connection is closed.
 */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * MiB;
const NEWLINE = 0x0a;

/** JSON-RPC's own error codes, for messages that are not calls this peer can serve. */
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INTERNAL_ERROR = -32603;

/** An error answer: thrown by a handler to answer with this code and data, and what a call rejects with when the peer answers so. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    message: string,
    readonly code: number,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

type Handler = (params: unknown) => unknown;
type Id = number | string;

interface Message {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

export class Channel {
  private nextId = 1;
  private readonly pending = new Map<Id, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  // no prototype: a method named "constructor" or "__proto__" on the wire finds nothing
  private readonly methods: Record<string, Handler> = Object.create(null);
  private closedWith?: string;

  constructor(private readonly socket: Socket) {}

  addMethod(method: string, handler: Handler): void {
    this.methods[method] = handler;
  }

  /** Call a method of the peer; rejects with RpcError when it answers with an error, or Error when the connection ends first. */
  request(method: string, params: object): Promise<unknown> {
    if (this.closedWith !== undefined) return Promise.reject(new Error(this.closedWith));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.send({ jsonrpc: '2.0', id, method, params });
      } catch (error) {
        this.pending.delete(id); // params that are not JSON (a BigInt, a cycle): nothing was sent
        reject(error as Error);
      }
    });
  }

  /** A call that expects no answer. */
  notify(method: string, params: object): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** Reject every call still waiting for its answer (the connection is gone). */
  rejectAllPendingRequests(reason: string): void {
    this.closedWith = reason;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const { reject } of pending) reject(new Error(reason));
  }

  /** One message from the peer, already parsed. */
  receive(message: unknown): void {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return;
    const m = message as Message;
    const id = typeof m.id === 'number' || typeof m.id === 'string' ? m.id : undefined;
    if (typeof m.method === 'string') {
      void this.serve(m.method, m.params, id);
      return;
    }
    if (id === undefined) return;
    const waiting = this.pending.get(id);
    if (!waiting) {
      // an answer to nothing is dropped; anything else with an id gets the standard error
      if (!('result' in m) && !('error' in m)) this.send({ jsonrpc: '2.0', id, error: { code: INVALID_REQUEST, message: 'Invalid Request' } });
      return;
    }
    this.pending.delete(id);
    if (m.error && typeof m.error === 'object') {
      const { code, message: text, data } = m.error;
      waiting.reject(new RpcError(typeof text === 'string' ? text : 'error', typeof code === 'number' ? code : INTERNAL_ERROR, data));
    } else if ('result' in m && !('error' in m)) {
      waiting.resolve(m.result);
    } else {
      waiting.reject(new RpcError(`answered with ${'error' in m ? 'an error that is not an object' : 'neither a result nor an error'}`, INVALID_REQUEST));
    }
  }

  private async serve(method: string, params: unknown, id: Id | undefined): Promise<void> {
    const handler = this.methods[method];
    let result: unknown;
    try {
      if (!handler) throw new RpcError('Method not found', METHOD_NOT_FOUND);
      result = handler(params);
      if (result instanceof Promise) result = await result;
    } catch (error) {
      if (id === undefined) return;
      const e = error instanceof RpcError ? error : new RpcError((error as Error)?.message ?? String(error), INTERNAL_ERROR);
      this.send({ jsonrpc: '2.0', id, error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) } });
      return;
    }
    if (id !== undefined) this.send({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
  }

  private send(message: object): void {
    if (!this.socket.destroyed) this.socket.write(JSON.stringify(message) + '\n');
  }
}

/**
 * Call `onLine` with each newline-ended message of a socket (blank lines skipped), in order. Bytes of a message
 * not yet ended are kept as the chunks they came in (no re-scanning, no copies until a message is complete) and
 * bounded: a peer that never sends a newline is cut off, not buffered forever. `onLine` may destroy the socket.
 */
export function readLines(socket: Socket, onLine: (line: string) => void): void {
  let parts: Buffer[] = [];
  let pendingBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    let at = 0;
    while (!socket.destroyed) {
      const newline = chunk.indexOf(NEWLINE, at);
      if (pendingBytes + (newline < 0 ? chunk.length : newline) - at > MAX_CONTROL_MESSAGE_BYTES) {
        parts = [];
        socket.destroy(new Error(`sent a control message larger than ${MAX_CONTROL_MESSAGE_BYTES / MiB} MiB`));
        return;
      }
      if (newline < 0) {
        if (at < chunk.length) parts.push(chunk.subarray(at));
        pendingBytes += chunk.length - at;
        return;
      }
      // the common case, a whole message inside one chunk, is decoded without a copy
      const line = parts.length ? Buffer.concat([...parts, chunk.subarray(at, newline)]).toString('utf8') : chunk.toString('utf8', at, newline);
      parts = [];
      pendingBytes = 0;
      at = newline + 1;
      if (line.trim() !== '') onLine(line);
    }
  });
}

/**
 * Wrap a connected socket. `onClose` fires once when the peer goes away, or is cut off for sending a message larger
 * than MAX_CONTROL_MESSAGE_BYTES or one that is not JSON; pending requests are rejected then, with that reason.
 */
export function openChannel(socket: Socket, onClose: (reason: string) => void = () => {}): Channel {
  const channel = new Channel(socket);
  socket.setNoDelay(true);
  readLines(socket, (line) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      socket.destroy(new Error(`malformed JSON on the control socket: ${line.slice(0, 120)}`));
      return;
    }
    channel.receive(message);
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
  return channel.request(method, params) as Promise<T>;
}
