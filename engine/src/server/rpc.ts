// JSON-RPC 2.0 over one websocket per browser tab, both directions: the tab's requests become EditorTab
// calls; notifications and binary display frames go back on the same socket. Params come from a browser:
// each is checked for its type before it reaches the tab.
import { JSONRPCClient, JSONRPCErrorException, JSONRPCServer, JSONRPCServerAndClient, type JSONRPCParams } from 'json-rpc-2.0';
import type { WebSocket } from 'ws';
import { parseJsonDocument } from '../pipeline-file.js';
import { EditorTab, TabError, type TabOptions } from './tab.js';
import { RPC_ERRORS, type PipelineDocument, type RpcMethod, type RpcMethods } from './protocol.js';

/** Largest message a tab may send: documents and params, never data. */
export const MAX_RPC_MESSAGE_BYTES = 4 * 1024 * 1024;
/** How often a tab's connection is checked for life (a ping; no pong by the next one: closed). */
export const HEARTBEAT_MS = 30_000;
/** Display bytes the socket may hold unsent: beyond, frames of a fast stream are skipped for a slow browser. */
export const MAX_UNSENT_DISPLAY_BYTES = 64 * 1024 * 1024;

class ParamsError extends JSONRPCErrorException {
  constructor(message: string) {
    super(message, -32602);
  }
}

const record = (value: unknown, what: string): Record<string, unknown> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ParamsError(`${what} must be an object`);
  return value as Record<string, unknown>;
};
const text = (value: unknown, what: string): string => {
  if (typeof value !== 'string' || value === '') throw new ParamsError(`${what} must be a non-empty string`);
  return value;
};
const finite = (value: unknown, what: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ParamsError(`${what} must be a finite number`);
  return value;
};
const flag = (value: unknown, what: string): boolean => {
  if (typeof value !== 'boolean') throw new ParamsError(`${what} must be true or false`);
  return value;
};
const optional = <T>(value: unknown, check: (v: unknown, what: string) => T, what: string): T | undefined => (value === undefined ? undefined : check(value, what));

type Handler<M extends RpcMethod> = (params: Record<string, unknown>) => RpcMethods[M]['result'] | Promise<RpcMethods[M]['result']>;

function handlers(tab: EditorTab): { [M in RpcMethod]: Handler<M> } {
  return {
    'session.open': (p) => tab.open(record(p.document, 'document') as unknown as PipelineDocument),
    'session.run': (p) => {
      const frames = optional(p.frames, finite, 'frames');
      if (frames !== undefined && !(Number.isInteger(frames) && frames > 0)) throw new ParamsError('frames must be a positive integer');
      return tab.run(frames);
    },
    'session.setParams': (p) => tab.setParams(text(p.node, 'node'), record(p.params, 'params'), optional(p.rerun, flag, 'rerun')),
    'session.stop': () => tab.stop(),
    'session.close': () => tab.closeSession(),
    'display.configure': (p) => tab.configure(text(p.node, 'node'), finite(p.width, 'width'), finite(p.height, 'height')),
    'display.pixel': (p) => tab.pixel(text(p.node, 'node'), finite(p.x, 'x'), finite(p.y, 'y'), optional(p.index, finite, 'index'), optional(p.run, finite, 'run')),
    'edge.peek': (p) => tab.peekEdge(text(p.node, 'node'), text(p.port, 'port')),
  };
}

/** A tab's failure as the JSON-RPC error the browser gets: its message, a code from RPC_ERRORS, and data. */
function rpcError(error: unknown): JSONRPCErrorException {
  if (error instanceof JSONRPCErrorException) return error;
  if (error instanceof TabError) return new JSONRPCErrorException(error.message, RPC_ERRORS[error.code], error.data);
  return new JSONRPCErrorException((error as Error)?.message ?? String(error), -32000);
}

/** Serve one websocket: a tab of its own, closed (session and all) when the socket closes. */
export function serveTab(socket: WebSocket, options: Omit<TabOptions, 'notify' | 'sendBinary' | 'canSendBinary'>): EditorTab {
  const send = (data: string | Buffer | Uint8Array) => {
    if (socket.readyState === socket.OPEN) socket.send(data);
  };
  const tab = new EditorTab({
    ...options,
    notify: (method, params) => channel.notify(method, params as unknown as JSONRPCParams, undefined),
    canSendBinary: () => socket.bufferedAmount <= MAX_UNSENT_DISPLAY_BYTES,
    sendBinary: send,
  });
  const channel = new JSONRPCServerAndClient(
    new JSONRPCServer({ errorListener: () => {} }),
    new JSONRPCClient((payload: unknown) => send(JSON.stringify(payload))),
    { errorListener: () => {} },
  );
  for (const [method, handle] of Object.entries(handlers(tab)) as [RpcMethod, Handler<RpcMethod>][]) {
    channel.addMethod(method, async (params: unknown) => {
      try {
        return await handle(params === undefined ? {} : record(params, 'params'));
      } catch (error) {
        throw rpcError(error);
      }
    });
  }
  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      socket.close(1003, 'binary messages are not accepted');
      return;
    }
    let message: unknown;
    try {
      // with the limits of pipeline files: nesting depth, duplicate keys
      message = parseJsonDocument(data.toString(), 'message');
    } catch (error) {
      send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: `parse error: ${(error as Error).message}` } }));
      return;
    }
    void channel.receiveAndSend(message as never, undefined, undefined);
  });
  // a tab whose connection died without a close (a laptop put to sleep) is found by its missing pongs, and its
  // session (operators, shared memory) closed
  let alive = true;
  socket.on('pong', () => (alive = true));
  const heartbeat = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
  }, HEARTBEAT_MS).unref();
  socket.on('close', () => {
    clearInterval(heartbeat);
    channel.rejectAllPendingRequests('the connection closed');
  });
  return tab;
}
