// A JSON-RPC client of the editor server's websocket, for tests: requests, the notifications received so far,
// and the binary display messages decoded as protocol.ts lays them out.
import WebSocket from 'ws';
import type { DisplayHeader, RpcMethod, RpcMethods, RpcNotifications } from '@emflow/engine/protocol';

export interface Display {
  header: DisplayHeader;
  payload: ArrayBuffer;
}

type Notification = { [M in keyof RpcNotifications]: { method: M; params: RpcNotifications[M] } }[keyof RpcNotifications];

export class EditorClient {
  readonly notifications: Notification[] = [];
  readonly displays: Display[] = [];
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private nextId = 0;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const length = data.readUInt32LE(0);
        const header = JSON.parse(data.subarray(4, 4 + length).toString('utf8')) as DisplayHeader;
        const start = Math.ceil((4 + length) / 8) * 8;
        this.displays.push({ header, payload: data.buffer.slice(data.byteOffset + start, data.byteOffset + data.length) as ArrayBuffer });
      } else {
        const message = JSON.parse(data.toString()) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: unknown };
        const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
        if (waiting) {
          this.pending.delete(message.id!);
          if (message.error) waiting.reject(message.error);
          else waiting.resolve(message.result);
        } else if (message.method) this.notifications.push({ method: message.method, params: message.params } as Notification);
      }
      for (const wake of this.waiters) wake();
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<EditorClient> {
    const socket = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new EditorClient(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`refused: ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  call<M extends RpcMethod>(method: M, params: RpcMethods[M]['params']): Promise<RpcMethods[M]['result']> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Wait until `condition` holds on what has arrived (checked at every message), at most `ms`. */
  until<T>(condition: () => T | undefined | false, ms = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = condition();
        if (value !== undefined && value !== false) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`condition not met within ${ms} ms`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  of<M extends keyof RpcNotifications>(method: M): RpcNotifications[M][] {
    return this.notifications.filter((n) => n.method === method).map((n) => n.params as RpcNotifications[M]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
