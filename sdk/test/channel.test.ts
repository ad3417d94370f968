// The control channel: newline-delimited JSON-RPC over a Unix socket, each message at most 16 MiB. A peer that
// sends more without a newline is cut off with a message saying so, instead of being buffered without end.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, MAX_CONTROL_MESSAGE_BYTES, openChannel, RpcError } from '@emflow/sdk';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-channel-test-'));
const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
  rmSync(scratch, { recursive: true, force: true });
});

let sockets = 0;
/** A channel on the accepting side of a fresh socket, the raw client socket, and the reason the channel closed. */
async function connected() {
  const path = join(scratch, `control-${sockets++}.sock`);
  let closed!: (reason: string) => void;
  const reason = new Promise<string>((resolve) => (closed = resolve));
  const accepted = new Promise<ReturnType<typeof openChannel>>((resolve) => {
    const server = createServer((socket) => resolve(openChannel(socket, closed)));
    servers.push(server);
    server.listen(path);
  });
  const client: Socket = await new Promise((resolve) => {
    const socket = createConnection(path, () => resolve(socket));
  });
  client.on('error', () => {});
  return { channel: await accepted, client, reason };
}

/** Write `bytes` bytes of one JSON string, in chunks, without its newline. */
async function writeUnterminated(client: Socket, bytes: number) {
  const chunk = Buffer.alloc(1 << 20, 'x'.charCodeAt(0));
  client.write('"');
  for (let sent = 1; sent < bytes && !client.destroyed; sent += chunk.length) {
    if (!client.write(chunk)) await new Promise((resolve) => client.once('drain', resolve).once('close', resolve));
  }
}

describe('openChannel', () => {
  it('caps one message at 16 MiB', () => {
    expect(MAX_CONTROL_MESSAGE_BYTES).toBe(16 * 1024 * 1024);
  });

  it('closes the connection when a peer sends more than 16 MiB without a newline, and says so to pending calls', async () => {
    const { channel, client, reason } = await connected();
    const pending = call(channel, 'process', {}).catch((error: Error) => error);
    const clientClosed = new Promise((resolve) => client.once('close', resolve));
    await writeUnterminated(client, 20 * 1024 * 1024);
    expect(await reason).toBe('sent a control message larger than 16 MiB');
    expect((await pending as Error).message).toBe('sent a control message larger than 16 MiB');
    await clientClosed;
  });

  it('takes a message of just under 16 MiB that arrives in many pieces, and the messages around it', async () => {
    const { channel, client } = await connected();
    const received: unknown[] = [];
    channel.addMethod('note', (params) => void received.push(params));
    const payload = 'é'.repeat((MAX_CONTROL_MESSAGE_BYTES - 100) / 2); // two bytes each in UTF-8
    const message = JSON.stringify({ jsonrpc: '2.0', method: 'note', params: { payload } });
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_CONTROL_MESSAGE_BYTES);
    const bytes = Buffer.from(`{"jsonrpc":"2.0","method":"note","params":{"n":1}}\n${message}\n{"jsonrpc":"2.0","method":"note","params":{"n":2}}\n`);
    for (let at = 0; at < bytes.length; at += 65_521) client.write(bytes.subarray(at, at + 65_521));
    for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.length).toBe(3);
    expect(received[0]).toEqual({ n: 1 });
    expect((received[1] as { payload: string }).payload === payload).toBe(true);
    expect(received[2]).toEqual({ n: 2 });
    client.destroy();
  });

  it('rejects a call the peer answers with neither a result nor an error object, and one whose params are not JSON', async () => {
    const { channel, client } = await connected();
    const lines: string[] = [];
    client.on('data', (data: Buffer) => lines.push(...data.toString().split('\n').filter(Boolean)));
    const bare = call(channel, 'process', { n: 1 }).catch((error: unknown) => error);
    const stringError = call(channel, 'process', { n: 2 }).catch((error: unknown) => error);
    for (let i = 0; i < 100 && lines.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const [first, second] = lines.map((line) => (JSON.parse(line) as { id: number }).id);
    client.write(`{"jsonrpc":"2.0","id":${first}}\n{"jsonrpc":"2.0","id":${second},"error":"broken"}\n`);
    expect(await bare).toMatchObject({ name: 'RpcError', code: -32600, message: 'answered with neither a result nor an error' });
    expect(await stringError).toBeInstanceOf(RpcError);
    expect(((await stringError) as RpcError).message).toBe('answered with an error that is not an object');
    await expect(call(channel, 'process', { n: 10n })).rejects.toThrow(/BigInt/);
    client.destroy();
  });
});
