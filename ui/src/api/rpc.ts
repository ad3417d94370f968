// A small JSON-RPC 2.0 client over the browser WebSocket (api/ws): requests with typed params and results,
// server notifications, binary display messages, and reconnection with backoff when the socket drops.
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
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: RpcError) => void }>();
  private readonly notify: Notify = {};
  private readonly binaryHandlers: ((data: ArrayBuffer) => void)[] = [];
  private readonly stateHandlers: ((state: ConnectionState) => void)[] = [];
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = true;

  constructor(
    private readonly url: string,
    private readonly createSocket: (url: string) => SocketLike = (u) => new WebSocket(u),
  ) {}

  on<N extends keyof RpcNotifications>(method: N, handler: (params: RpcNotifications[N]) => void): void {
    ((this.notify[method] ??= []) as ((p: RpcNotifications[N]) => void)[]).push(handler);
  }

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

  request<M extends RpcMethod>(method: M, params: RpcMethods[M]['params']): Promise<RpcMethods[M]['result']> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return Promise.reject(new RpcError(NOT_CONNECTED, 'not connected to the server'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
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
      for (const { reject } of this.pending.values()) reject(new RpcError(NOT_CONNECTED, 'the connection to the server was lost'));
      this.pending.clear();
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
    for (const m of Array.isArray(message) ? message : [message]) this.dispatch(m as Record<string, unknown>);
  }

  private dispatch(m: Record<string, unknown>) {
    if (typeof m !== 'object' || m === null) return;
    if (typeof m.method === 'string') {
      if (m.id !== undefined && m.id !== null) {
        // the server sends no requests today; answer any so that it never waits
        this.socket?.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `method not found: ${m.method}` } }));
        return;
      }
      const handlers = Object.hasOwn(this.notify, m.method) ? (this.notify[m.method as keyof Notify] as ((p: unknown) => void)[]) : [];
      for (const handler of handlers) handler(m.params);
      return;
    }
    const call = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (!call) return;
    this.pending.delete(m.id as number);
    const error = m.error as { code?: number; message?: string; data?: unknown } | undefined;
    if (error) call.reject(new RpcError(error.code ?? -32603, error.message ?? 'error', error.data));
    else call.resolve(m.result);
  }
}
