// The JSON-RPC client over a websocket: requests and their answers, notifications, binary frames, and
// reconnection with backoff.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NOT_CONNECTED, RpcClient, RpcError, socketUrl } from '../src/api/rpc';
import { FakeSocket } from './fake-socket';

afterEach(() => {
  vi.useRealTimers();
  FakeSocket.all = [];
});

const client = () => new RpcClient('ws://host/api/ws', (url) => new FakeSocket(url));

describe('RpcClient', () => {
  it('sends typed requests and resolves or rejects them with the answer', async () => {
    const rpc = client();
    rpc.start();
    FakeSocket.last.open();
    const open = rpc.request('session.open', { document: { emflow: 1, nodes: [], edges: [] } });
    const run = rpc.request('session.run', {});
    expect(FakeSocket.last.sent).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'session.open', params: { document: { emflow: 1, nodes: [], edges: [] } } },
      { jsonrpc: '2.0', id: 2, method: 'session.run', params: {} },
    ]);
    FakeSocket.last.fail('session.run', -32003, 'blur failed', { node: 'blur' });
    FakeSocket.last.answer('session.open', { session: 's1', nodes: [] });
    await expect(open).resolves.toEqual({ session: 's1', nodes: [] });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: -32003, message: 'blur failed', data: { node: 'blur' } });
  });

  it('hands notifications (batched too) and binary frames to their handlers, and answers server requests', async () => {
    const rpc = client();
    const states: unknown[] = [];
    const frames: ArrayBuffer[] = [];
    rpc.on('node.state', (s) => states.push(s));
    rpc.onBinary((b) => frames.push(b));
    rpc.start();
    const socket = FakeSocket.last;
    socket.open();
    expect(socket.binaryType).toBe('arraybuffer');
    socket.notify('node.state', { run: 1, node: 'a', state: 'running', frames: 0 });
    socket.receive([{ jsonrpc: '2.0', method: 'node.state', params: { run: 1, node: 'b', state: 'done', frames: 2 } }]);
    socket.notify('toString', {});
    socket.receiveBinary(new ArrayBuffer(8));
    socket.receive({ jsonrpc: '2.0', id: 'x', method: 'ping', params: {} });
    // the JSON-RPC library handles messages a few promise steps later
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(states).toEqual([
      { run: 1, node: 'a', state: 'running', frames: 0 },
      { run: 1, node: 'b', state: 'done', frames: 2 },
    ]);
    expect(frames.map((f) => f.byteLength)).toEqual([8]);
    expect(socket.sent.at(-1)).toMatchObject({ id: 'x', error: { code: -32601 } });
  });

  it('rejects what is pending when the socket drops, and reconnects with growing delays', async () => {
    vi.useFakeTimers();
    const rpc = client();
    const states: string[] = [];
    rpc.onState((s) => states.push(s.status));
    rpc.start();
    FakeSocket.last.open();
    const pending = rpc.request('session.run', {});
    FakeSocket.last.drop();
    await expect(pending).rejects.toMatchObject({ code: NOT_CONNECTED });
    await expect(rpc.request('session.stop', {})).rejects.toMatchObject({ code: NOT_CONNECTED });
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(700);
    expect(FakeSocket.all.length).toBe(2);
    // refused again: the next attempt waits longer
    FakeSocket.last.drop();
    vi.advanceTimersByTime(700);
    expect(FakeSocket.all.length).toBe(2);
    vi.advanceTimersByTime(600);
    expect(FakeSocket.all.length).toBe(3);
    FakeSocket.last.open();
    expect(states).toEqual(['connecting', 'open', 'closed', 'connecting', 'closed', 'connecting', 'open']);
    rpc.stop();
    vi.advanceTimersByTime(20_000);
    expect(FakeSocket.all.length).toBe(3);
  });

  it('connects to api/ws of the page, wss on https, with the token', () => {
    const url = new URL(socketUrl('t o'));
    expect(url.protocol).toBe(location.protocol === 'https:' ? 'wss:' : 'ws:');
    expect(url.pathname.endsWith('/api/ws')).toBe(true);
    expect(url.searchParams.get('token')).toBe('t o');
  });
});
