// JSON-RPC 2.0 (the json-rpc-2.0 library, as on the server) over the browser WebSocket (api/ws): requests with
// typed params and results, server notifications, binary display messages, and reconnection with backoff when
// the socket drops.
import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient, type JSONRPCParams } from 'json-rpc-2.0';
import type { RPC_ERRORS as ProtocolRpcErrors, RpcMethod, RpcMethods, RpcNotifications } from '@emflow/engine/protocol';

// The engine's codes, restated because the ui imports no engine code at runtime; the annotation makes the
// type checker compare them with protocol.ts.
export const RPC_ERRORS: typeof ProtocolRpcErrors = { invalid: -32001, noSession: -32002, runFailed: -32003, stopped: -32004, noFrame: -32005 };
/** client-side: the socket is not open, or closed before the answer came */
export const NOT_CONNECTED = -32098;

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface ConnectionState {
  status: 'connecting' | 'open' | 'closed';
  /** when closed: the time (Date.now()) of the next attempt */
  retryAt?: number;
}

type Notify = { [N in keyof RpcNotifications]?: ((params: RpcNotifications[N]) => void)[] };

interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  send(data: string): void;
  close(): void;
}

const OPEN = 1;
const MIN_DELAY = 500;
const MAX_DELAY = 10_000;

/** ws: or wss: per the page, api/ws relative to it, the token as ?token= */
export function socketUrl(token: string | undefined): string {
  const url = new URL('api/ws', document.baseURI);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

export class RpcClient {
  private socket?: SocketLike;
  private readonly channel: JSONRPCServerAndClient<void, void>;
  private readonly binaryHandlers: ((data: ArrayBuffer) => void)[] = [];
  private readonly stateHandlers: ((state: ConnectionState) => void)[] = [];
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = true;

  constructor(
    private readonly url: string,
    private readonly createSocket: (url: string) => SocketLike = (u) => new WebSocket(u),
  ) {
    this.channel = new JSONRPCServerAndClient(
      // notifications arrive as method calls without an id; a request for a method not added is answered "not found"
      new JSONRPCServer({ errorListener: () => undefined }),
      new JSONRPCClient((payload: unknown) => {
        if (this.socket?.readyState !== OPEN) return Promise.reject(new Error('not connected to the server'));
        this.socket.send(JSON.stringify(payload));
      }),
      { errorListener: () => undefined },
    );
  }

  on<N extends keyof RpcNotifications>(method: N, handler: (params: RpcNotifications[N]) => void): void {
    const handlers = (this.handlers[method] ??= []) as ((p: RpcNotifications[N]) => void)[];
    if (!handlers.length) this.channel.addMethod(method, (params) => void (this.handlers[method] as ((p: unknown) => void)[]).forEach((h) => h(params)));
    handlers.push(handler);
  }

  private readonly handlers: Notify = {};

  onBinary(handler: (data: ArrayBuffer) => void): void {
    this.binaryHandlers.push(handler);
  }

  onState(handler: (state: ConnectionState) => void): void {
    this.stateHandlers.push(handler);
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }

  async request<M extends RpcMethod>(method: M, params: RpcMethods[M]['params']): Promise<RpcMethods[M]['result']> {
    if (this.socket?.readyState !== OPEN) throw new RpcError(NOT_CONNECTED, 'not connected to the server');
    try {
      return (await this.channel.request(method, params as JSONRPCParams, undefined)) as RpcMethods[M]['result'];
    } catch (error) {
      const { code, message, data } = error as { code?: number; message?: string; data?: unknown };
      // code 0: the library rejected it when the socket closed (rejectAllPendingRequests)
      throw new RpcError(typeof code === 'number' && code !== 0 ? code : NOT_CONNECTED, message ?? 'error', data);
    }
  }

  private setState(state: ConnectionState) {
    for (const handler of this.stateHandlers) handler(state);
  }

  private connect() {
    this.setState({ status: 'connecting' });
    const socket = this.createSocket(this.url);
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.attempt = 0;
      this.setState({ status: 'open' });
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.receive(ev.data);
      else if (ev.data instanceof ArrayBuffer) for (const handler of this.binaryHandlers) handler(ev.data);
    };
    // an error is always followed by close, where the reconnection is scheduled
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.channel.rejectAllPendingRequests('the connection to the server was lost');
      if (this.stopped) {
        this.setState({ status: 'closed' });
        return;
      }
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt++) * (0.8 + Math.random() * 0.4);
      this.setState({ status: 'closed', retryAt: Date.now() + delay });
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  private receive(text: string) {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    void this.channel.receiveAndSend(message as never, undefined, undefined);
  }
}
