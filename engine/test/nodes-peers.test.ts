// Multi-node runs, frames between two agent hosts: an agent serves its own workers' slot files to the run's other
// agents (peers.ts PeerServer, after a hello with the run's key) and fetches theirs into its own slot files
// (PeerFetcher); the engine's host gets only an array frame's header (slot-sync.ts headerRanges); the agent's end of
// an operator's tunnel holds a line back until the frames fetched for it are in place, and the engine's end names
// the agent to fetch a frame from instead of sending its bytes (tunnel.ts).
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cutOffAfter, socketPair } from './sockets.js';
import { decodeFrame, encodeFrame, json, NDArray, type SlotRef } from '@emflow/sdk';
import { sameKey } from '../src/nodes/hello.js';
import { PeerFetcher, PeerServer } from '../src/nodes/peers.js';
import { headerRanges } from '../src/nodes/slot-sync.js';
import { agentTunnel, engineTunnel } from '../src/nodes/tunnel.js';
import { connect, encodeHeader, readRecords, writeRecord, type RecordHeader } from '../src/nodes/wire.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-peers-test-'));
const key = randomBytes(32);
const sockets: Socket[] = [];
const closers: (() => void)[] = [];
/** A connected pair of sockets, destroyed after the tests. */
async function pairOf(name: string): Promise<[Socket, Socket]> {
  const pair = await socketPair(scratch, name);
  sockets.push(...pair);
  return pair;
}
afterAll(() => {
  for (const close of closers) close();
  for (const socket of sockets) socket.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

let folders = 0;
/** A fresh slot folder (a host's session folder). */
function slotFolder(): string {
  const dir = join(scratch, `host${folders++}`);
  mkdirSync(dir);
  return dir;
}

/** Write `bytes` as the slot's whole file. */
function putSlot(dir: string, slot: string, bytes: Uint8Array): void {
  mkdirSync(join(dir, slot.slice(0, slot.indexOf('/'))), { recursive: true });
  writeFileSync(join(dir, slot), bytes);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 150 && !check(); i++) await sleep(20);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

/** A peer server over `dir` on loopback, serving the slots of worker `a`; closed after the tests. */
async function servePeers(dir: string, local: (worker: string) => boolean = (worker) => worker === 'a'): Promise<string> {
  const server = new PeerServer(dir, key, local);
  closers.push(() => server.close());
  return `127.0.0.1:${await server.listen('127.0.0.1')}`;
}

function fetcher(dir: string, withKey = key): PeerFetcher {
  const peers = new PeerFetcher(dir, withKey);
  closers.push(() => peers.close());
  return peers;
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, the promise resolved');
}

interface Rec {
  header: RecordHeader;
  body: Buffer;
}

/** Every record read from `socket`, as it arrives. */
function recordsOf(socket: Socket): Rec[] {
  const got: Rec[] = [];
  readRecords(socket, (header, body) => got.push({ header, body: Buffer.concat(body) }));
  return got;
}



/** A TCP relay in front of `address` that counts the connections through it, and the bytes coming back. */
async function countingRelay(address: string): Promise<{ address: string; connections: () => number; bytesBack: () => number }> {
  const [host, port] = address.split(':');
  let count = 0;
  let back = 0;
  const server: Server = createServer((client) => {
    count++;
    const upstream = createConnection({ host, port: Number(port) });
    sockets.push(client, upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('data', (chunk: Buffer) => (back += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, connections: () => count, bytesBack: () => back };
}

// ---------------------------------------------------------------------------------------------------------------
// peers.ts

describe('PeerServer and PeerFetcher', () => {
  it('fetch a range of a 1 MiB slot byte for byte into the same slot of the other folder, nothing else written', async () => {
    const there = slotFolder();
    const here = slotFolder();
    const size = 1 << 20;
    const file = randomBytes(size);
    putSlot(there, 'a/out.0', file);
    const ref: SlotRef = { slot: 'a/out.0', size, offset: 12_345, length: 700_001 };
    await fetcher(here).fetch(ref, await servePeers(there));
    const got = readFileSync(join(here, 'a/out.0'));
    expect(got.length).toBe(size);
    expect(got.subarray(ref.offset, ref.offset + ref.length).equals(file.subarray(ref.offset, ref.offset + ref.length))).toBe(true);
    expect(got.subarray(0, ref.offset).equals(Buffer.alloc(ref.offset))).toBe(true);
    expect(got.subarray(ref.offset + ref.length).equals(Buffer.alloc(size - ref.offset - ref.length))).toBe(true);
  });

  it('fetch several slots in parallel over one connection, each with its own bytes', async () => {
    const there = slotFolder();
    const here = slotFolder();
    const size = 256 << 10;
    const files = [1, 2, 3, 4, 5].map((n) => ({ slot: `a/out.${n}`, bytes: randomBytes(size) }));
    for (const { slot, bytes } of files) putSlot(there, slot, bytes);
    const relay = await countingRelay(await servePeers(there));
    const peers = fetcher(here);
    // different ranges, so that an answer handed to the wrong request shows
    const refs = files.map(({ slot }, i): SlotRef => ({ slot, size, offset: 1000 * i, length: size - 3000 * i }));
    await Promise.all(refs.map((ref) => peers.fetch(ref, relay.address)));
    expect(relay.connections()).toBe(1);
    refs.forEach((ref, i) => {
      const got = readFileSync(join(here, ref.slot)).subarray(ref.offset, ref.offset + ref.length);
      expect(got.equals(files[i].bytes.subarray(ref.offset, ref.offset + ref.length))).toBe(true);
    });
  });

  it('share one transfer between two fetches of the same frame under way at once', async () => {
    const there = slotFolder();
    const bytes = randomBytes(64 << 10);
    putSlot(there, 'a/out.0', bytes);
    const relay = await countingRelay(await servePeers(there));
    const here = slotFolder();
    const peers = fetcher(here);
    const ref: SlotRef = { slot: 'a/out.0', size: bytes.length, offset: 0, length: bytes.length };
    await Promise.all([peers.fetch(ref, relay.address), peers.fetch({ ...ref }, relay.address)]);
    expect(relay.bytesBack()).toBeLessThan(2 * bytes.length);
    expect(relay.bytesBack()).toBeGreaterThan(bytes.length);
    expect(readFileSync(join(here, 'a/out.0')).equals(bytes)).toBe(true);
  });

  it('fail a fetch whose bytes cannot be written here, naming the slot, and keep the connection for the next', async () => {
    const there = slotFolder();
    const bytes = randomBytes(4096);
    putSlot(there, 'a/out.0', bytes);
    putSlot(there, 'c/out.0', bytes);
    const address = await servePeers(there, (worker) => worker === 'a' || worker === 'c');
    const here = slotFolder();
    // a link in place of the worker folder here: no write goes through it
    symlinkSync(scratch, join(here, 'a'));
    const peers = fetcher(here);
    const error = await rejection(peers.fetch({ slot: 'a/out.0', size: 4096, offset: 0, length: 4096 }, address));
    expect(error.message).toContain(`slot a/out.0 from the agent at ${address} could not be written here`);
    await peers.fetch({ slot: 'c/out.0', size: 4096, offset: 0, length: 4096 }, address);
    expect(readFileSync(join(here, 'c/out.0')).equals(bytes)).toBe(true);
  });

  it('say why the connection went when the peer is not there', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await rejection(fetcher(slotFolder()).fetch({ slot: 'a/out.0', size: 4096, offset: 0, length: 4096 }, address));
    expect(error.message).toMatch(new RegExp(`the connection to the agent at ${address} failed: .*ECONNREFUSED.* before it sent slot a/out.0`));
  });

  it('match no hello against an empty key (a setup without one)', () => {
    expect(sameKey('', Buffer.alloc(0))).toBe(false);
    expect(sameKey('zz', Buffer.alloc(0))).toBe(false);
    expect(sameKey(key.toString('hex'), key)).toBe(true);
    expect(sameKey(key.toString('hex').toUpperCase(), key)).toBe(true);
    expect(sameKey(key.toString('hex').slice(2), key)).toBe(false);
  });

  it('cut off a peer with a wrong key: the fetch fails naming the agent', async () => {
    const there = slotFolder();
    putSlot(there, 'a/out.0', randomBytes(4096));
    const address = await servePeers(there);
    const here = slotFolder();
    const error = await rejection(fetcher(here, randomBytes(32)).fetch({ slot: 'a/out.0', size: 4096, offset: 0, length: 4096 }, address));
    expect(error.message).toContain(address);
    expect(existsSync(join(here, 'a/out.0'))).toBe(false);
    expect(await cutOffAfter(address, [encodeHeader({ t: 'hello', role: 'peer', secret: '00'.repeat(32) })])).toBeLessThan(1000);
    // the right key in the hello of another role
    expect(await cutOffAfter(address, [encodeHeader({ t: 'hello', role: 'agent', secret: key.toString('hex') })])).toBeLessThan(1000);
  });

  it('cut off a first record with a body, or over 4 KiB, at once (the right key in it or not)', async () => {
    const address = await servePeers(slotFolder());
    const secret = key.toString('hex');
    expect(await cutOffAfter(address, [encodeHeader({ t: 'hello', role: 'peer', secret, bytes: 10 }), Buffer.alloc(10)])).toBeLessThan(1000);
    expect(await cutOffAfter(address, [encodeHeader({ t: 'x', bytes: 2 ** 40 }), Buffer.alloc(65536)])).toBeLessThan(1000);
    expect(await cutOffAfter(address, [encodeHeader({ t: 'hello', role: 'peer', secret, pad: 'x'.repeat(5000) })])).toBeLessThan(1000);
  });

  it("refuse a slot another host's worker writes, naming the slot", async () => {
    const there = slotFolder();
    putSlot(there, 'b/out.0', randomBytes(4096));
    const here = slotFolder();
    const error = await rejection(fetcher(here).fetch({ slot: 'b/out.0', size: 4096, offset: 0, length: 4096 }, await servePeers(there)));
    expect(error.message).toContain('b/out.0');
    expect(existsSync(join(here, 'b/out.0'))).toBe(false);
  });

  it('refuse a link in place of a slot file (no byte of what it points to is sent), and a range past the slot', async () => {
    const there = slotFolder();
    const secret = Buffer.alloc(8192, 'TOP-SECRET ');
    writeFileSync(join(scratch, 'secret.txt'), secret);
    mkdirSync(join(there, 'a'));
    symlinkSync(join(scratch, 'secret.txt'), join(there, 'a/out.9'));
    putSlot(there, 'a/out.0', randomBytes(4096));
    const address = await servePeers(there);
    const here = slotFolder();
    const peers = fetcher(here);
    const linked = await rejection(peers.fetch({ slot: 'a/out.9', size: 8192, offset: 0, length: 8192 }, address));
    expect(linked.message).toContain('a/out.9');
    expect(existsSync(join(here, 'a/out.9'))).toBe(false);
    const past = await rejection(peers.fetch({ slot: 'a/out.0', size: 4096, offset: 4000, length: 200 }, address));
    expect(past.message).toContain('a/out.0');
    expect(existsSync(join(here, 'a/out.0'))).toBe(false);

    // the same asked on a connection of our own: error answers without a body, and nothing of the secret on the wire
    const socket = await connect(address);
    sockets.push(socket);
    const raw: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => raw.push(chunk));
    const answers = recordsOf(socket);
    writeRecord(socket, { t: 'hello', role: 'peer', secret: key.toString('hex') });
    writeRecord(socket, { t: 'get', id: 1, slot: 'a/out.9', size: 8192, offset: 0, length: 8192 });
    writeRecord(socket, { t: 'get', id: 2, slot: 'a/out.9', size: 11, offset: 0, length: 11 });
    writeRecord(socket, { t: 'get', id: 3, slot: 'a/out.0', size: 4096, offset: 4000, length: 200 });
    writeRecord(socket, { t: 'get', id: 4, slot: 'a/out.0', size: 8192, offset: 0, length: 8192 }); // larger than the file
    writeRecord(socket, { t: 'get', id: 5, slot: 'a/out.0', size: 4096, offset: 0, length: 16 });
    await until(() => answers.length === 5, 'five answers');
    expect(answers.map((a) => [a.header.id, typeof a.header.error, a.body.length])).toEqual([
      [1, 'string', 0],
      [2, 'string', 0],
      [3, 'string', 0],
      [4, 'string', 0],
      [5, 'undefined', 16],
    ]);
    expect(Buffer.concat(raw).includes('TOP-SECRET')).toBe(false);
    expect(answers[4].body.equals(readFileSync(join(there, 'a/out.0')).subarray(0, 16))).toBe(true);
  });

  it('unmap a deleted slot once the bytes queued from it are sent, not before', async () => {
    const there = slotFolder();
    const size = 32 << 20; // more than the kernel's socket buffers: the answer stays queued while the peer does not read
    putSlot(there, 'a/out.0', randomBytes(size));
    const server = new PeerServer(there, key, (worker) => worker === 'a');
    closers.push(() => server.close());
    const port = await server.listen('127.0.0.1');
    const peer = await connect(`127.0.0.1:${port}`);
    sockets.push(peer);
    peer.pause();
    writeRecord(peer, { t: 'hello', role: 'peer', secret: key.toString('hex') });
    writeRecord(peer, { t: 'get', id: 1, slot: 'a/out.0', size, offset: 0, length: size });
    const path = join(there, 'a/out.0');
    const mapped = () => readFileSync('/proc/self/maps', 'utf8').includes(path);
    await until(mapped, 'the slot mapped to answer the get');
    await sleep(100);
    rmSync(path);
    server.drop('a/out.0');
    // still mapped: the answer is being sent from it
    expect(mapped()).toBe(true);
    let bytes = 0;
    peer.on('data', (chunk: Buffer) => (bytes += chunk.length));
    peer.resume();
    await until(() => bytes >= size, 'the answer');
    await until(() => !mapped(), 'the mapping dropped');
  });

  it('send the new bytes of a slot file removed and made anew between two fetches', async () => {
    const there = slotFolder();
    const here = slotFolder();
    const first = randomBytes(65536);
    const second = randomBytes(65536);
    putSlot(there, 'a/out.0', first);
    const address = await servePeers(there);
    const peers = fetcher(here);
    const ref: SlotRef = { slot: 'a/out.0', size: 65536, offset: 0, length: 65536 };
    await peers.fetch(ref, address);
    expect(readFileSync(join(here, 'a/out.0')).equals(first)).toBe(true);
    const before = statSync(join(there, 'a/out.0')).ino;
    rmSync(join(there, 'a/out.0'));
    putSlot(there, 'a/out.0', second);
    expect(statSync(join(there, 'a/out.0')).ino).not.toBe(before); // the mapping of the first keeps its inode in use
    await peers.fetch(ref, address);
    expect(readFileSync(join(here, 'a/out.0')).equals(second)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// slot-sync.ts headerRanges

/** A 512×512 float32 array of random values, its values' bytes, and its frame. */
function bigArray(): { array: NDArray; values: Buffer; frame: Uint8Array } {
  const data = new Float32Array(512 * 512).map(() => Math.random() * 1000 - 500);
  const array = new NDArray(data, [512, 512], { source: 'test', pixelSize: [1.5, 1.5] });
  return { array, values: Buffer.from(data.buffer, data.byteOffset, data.byteLength), frame: encodeFrame(array) };
}

/** The bytes of `frame` outside `ranges`, in order. */
function outside(frame: Uint8Array, ranges: [number, number][]): Buffer {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    parts.push(frame.subarray(at, start));
    at = end;
  }
  parts.push(frame.subarray(at));
  return Buffer.concat(parts);
}

describe('headerRanges', () => {
  it("leave out exactly a large array's values", () => {
    const { values, frame } = bigArray();
    const ranges = headerRanges(frame);
    expect(ranges.length).toBeGreaterThan(0);
    for (let i = 0; i < ranges.length; i++) {
      const [start, end] = ranges[i];
      expect(start).toBeGreaterThanOrEqual(i ? ranges[i - 1][1] : 0);
      expect(end).toBeGreaterThan(start);
      expect(end).toBeLessThanOrEqual(frame.byteLength);
    }
    expect(outside(frame, ranges).equals(values)).toBe(true);
    expect(ranges.reduce((n, [start, end]) => n + end - start, 0)).toBe(frame.byteLength - values.length);
  });

  it('give the whole of a small array and of a JSON frame', () => {
    const small = encodeFrame(new NDArray(new Float32Array(64).map((_, i) => i), [8, 8]));
    expect(headerRanges(small)).toEqual([[0, small.byteLength]]);
    const text = encodeFrame(json({ peaks: [1, 2, 3], label: 'x'.repeat(100_000) }));
    expect(headerRanges(text)).toEqual([[0, text.byteLength]]);
  });

  it('keep what the engine reads: the frame with its values zeroed decodes to the same dtype, shape and metadata', () => {
    const { array, values, frame } = bigArray();
    const ranges = headerRanges(frame);
    const copy = new Uint8Array(frame.byteLength);
    for (const [start, end] of ranges) copy.set(frame.subarray(start, end), start);
    const decoded = decodeFrame(copy);
    if (decoded.kind !== 'ndarray') throw new Error(`decoded a ${decoded.kind} frame`);
    expect(decoded.dtype).toBe('float32');
    expect(decoded.shape).toEqual([512, 512]);
    expect(decoded.meta).toEqual(array.meta);
    expect(Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength).equals(Buffer.alloc(values.length))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// tunnel.ts

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Lines the operator reads from its control socket. */
function linesOf(socket: Socket): string[] {
  const lines: string[] = [];
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  return lines;
}

const input: SlotRef = { slot: 'a/out.0', size: 4096, offset: 64, length: 100 };
const processCall = (id: number, grants: object = {}, inputs: object = { in: input }) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'process', params: { run: 1, frame: id, inputs, params: {}, grants } });

/** An agent's end of a tunnel whose worker `b` runs on its host; frames from afar are fetched through `fetch`. */
async function agentEnd(name: string, fetch: (ref: SlotRef, from: string) => Promise<void>, away = false) {
  const dir = slotFolder();
  const [operatorSide, operator] = await pairOf(`${name}-op`);
  const [wire, engine] = await pairOf(`${name}-wire`);
  readRecords(wire, agentTunnel(operatorSide, wire, { dir, local: (worker) => worker === 'b', away: () => away, fetch, released: () => undefined }));
  return { dir, operator, wire, engine, toOperator: linesOf(operator), toEngine: recordsOf(engine) };
}

describe("the agent's end of a tunnel", () => {
  it('hold a line back until the frames fetched for it are in place, and keep lines in order', async () => {
    const fetched = deferred();
    const asked: [SlotRef, string][] = [];
    const end = await agentEnd('hold', (ref, from) => {
      asked.push([ref, from]);
      return fetched.promise;
    });
    writeRecord(end.engine, { t: 'fetch', ...input, from: '10.0.0.2:4000' });
    writeRecord(end.engine, { t: 'line' }, [Buffer.from(processCall(1))]);
    writeRecord(end.engine, { t: 'line' }, [Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'cancel' }))]);
    await until(() => asked.length === 1, 'the fetch');
    expect(asked).toEqual([[input, '10.0.0.2:4000']]);
    await sleep(200);
    expect(end.toOperator).toEqual([]);
    fetched.resolve();
    await until(() => end.toOperator.length === 2, 'both lines');
    expect(end.toOperator).toEqual([processCall(1), JSON.stringify({ jsonrpc: '2.0', method: 'cancel' })]);
  });

  it('tell the engine why and close the wire and the operator when a fetch fails, the line never delivered', async () => {
    const fetched = deferred();
    const end = await agentEnd('fail', () => fetched.promise);
    writeRecord(end.engine, { t: 'fetch', ...input, from: '10.0.0.2:4000' });
    writeRecord(end.engine, { t: 'line' }, [Buffer.from(processCall(1))]);
    await sleep(100);
    fetched.reject(new Error('the connection to the agent at 10.0.0.2:4000 closed'));
    await Promise.all([closed(end.wire), closed(end.operator), closed(end.engine)]);
    expect(end.toOperator).toEqual([]);
    expect(end.toEngine.map((r) => r.header)).toEqual([{ t: 'error', message: 'a frame for this operator could not be fetched: the connection to the agent at 10.0.0.2:4000 closed' }]);
  });

  it("refuse to fetch a slot its own host's worker writes", async () => {
    let asked = 0;
    const end = await agentEnd('own', () => {
      asked++;
      return Promise.resolve();
    });
    writeRecord(end.engine, { t: 'fetch', slot: 'b/out.0', size: 4096, offset: 0, length: 100, from: '10.0.0.2:4000' });
    writeRecord(end.engine, { t: 'line' }, [Buffer.from(processCall(1))]);
    await Promise.all([closed(end.wire), closed(end.operator)]);
    expect(asked).toBe(0);
    expect(end.toOperator).toEqual([]);
  });

  /** The operator of `end` answers a call granting b/out.0 with a 512×512 float32 frame written at `at` in it. */
  async function answerWithBigFrame(end: Awaited<ReturnType<typeof agentEnd>>, at: number) {
    const { values, frame } = bigArray();
    const size = Math.ceil((at + frame.byteLength) / 4096) * 4096;
    writeRecord(end.engine, { t: 'line' }, [Buffer.from(processCall(1, { out: { slot: 'b/out.0', size } }, {}))]);
    await until(() => end.toOperator.length === 1, 'the call');
    expect(statSync(join(end.dir, 'b/out.0')).size).toBe(size); // the grant, made by the agent
    const fd = openSync(join(end.dir, 'b/out.0'), 'r+');
    writeSync(fd, frame, 0, frame.byteLength, at);
    closeSync(fd);
    const answer = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { outputs: { out: { slot: 'b/out.0', size, offset: at, length: frame.byteLength } }, more: false } });
    end.operator.write(answer + '\n');
    await until(() => end.toEngine.some((r) => r.header.t === 'line'), 'the answer');
    const slots = end.toEngine.slice(0, -1);
    expect(end.toEngine.at(-1)?.header.t).toBe('line');
    expect(end.toEngine.at(-1)?.body.toString()).toBe(answer);
    for (const { header, body } of slots) {
      expect(header).toMatchObject({ t: 'slot', slot: 'b/out.0', size, bytes: body.length });
      const start = (header.offset as number) - at;
      expect(body.equals(frame.subarray(start, start + body.length))).toBe(true);
    }
    return { slots, values, frame };
  }

  it("send only an output array's header where the engine's host wants no values", async () => {
    const end = await agentEnd('away', () => Promise.resolve(), true);
    const { slots, values, frame } = await answerWithBigFrame(end, 4096);
    expect(slots.length).toBeGreaterThan(0);
    expect(slots.reduce((n, r) => n + r.body.length, 0)).toBe(frame.byteLength - values.length);
    // nothing of the values among the bytes sent (a random float32 run of 64 values does not occur by chance)
    const probe = values.subarray(values.length / 2, values.length / 2 + 256);
    expect(slots.some((r) => r.body.includes(probe))).toBe(false);
  });

  it('send the whole output frame otherwise', async () => {
    const end = await agentEnd('whole', () => Promise.resolve(), false);
    const { slots, frame } = await answerWithBigFrame(end, 4096);
    expect(slots.length).toBe(1);
    expect(slots[0].header.offset).toBe(4096);
    expect(slots[0].body.equals(frame)).toBe(true);
  });
});

describe("the engine's end of a tunnel", () => {
  it("pass on an agent's reason for closing the tunnel", async () => {
    const [wire, agent] = await pairOf('engine-error-wire');
    const [engineSide] = await pairOf('engine-error-control');
    const reasons: string[] = [];
    readRecords(wire, engineTunnel(wire, engineSide, slotFolder(), { onHost: () => false, peerOf: () => undefined, hello: () => undefined, failed: (message) => reasons.push(message) }));
    writeRecord(agent, { t: 'error', message: 'a frame for this operator could not be fetched: gone' });
    await until(() => reasons.length === 1, 'the reason');
    expect(reasons).toEqual(['a frame for this operator could not be fetched: gone']);
  });

  it('name the agent to fetch an input from, and send the bytes of one on the engine host', async () => {
    const dir = slotFolder();
    const engineHostFrame = randomBytes(4096);
    putSlot(dir, 'c/out.0', engineHostFrame);
    const [wire, agent] = await pairOf('engine-wire');
    const [engineSide, control] = await pairOf('engine-control');
    const peerOf = (worker: string) => (worker === 'a' ? '10.0.0.2:4000' : undefined);
    readRecords(wire, engineTunnel(wire, engineSide, dir, { onHost: (worker) => worker === 'b', peerOf, hello: () => undefined, failed: () => undefined }));
    const toAgent = recordsOf(agent);
    const fromEngineHost: SlotRef = { slot: 'c/out.0', size: 4096, offset: 96, length: 1000 };
    const call = processCall(1, {}, { in: input, other: fromEngineHost });
    control.write(call + '\n');
    await until(() => toAgent.some((r) => r.header.t === 'line'), 'the call');
    expect(toAgent.map((r) => r.header)).toEqual([
      { t: 'fetch', ...input, from: '10.0.0.2:4000' },
      { t: 'slot', slot: 'c/out.0', size: 4096, offset: 96, bytes: 1000 },
      { t: 'line', bytes: call.length },
    ]);
    expect(toAgent[0].body.length).toBe(0);
    expect(toAgent[1].body.equals(engineHostFrame.subarray(96, 1096))).toBe(true);
    expect(toAgent[2].body.toString()).toBe(call);
  });
});
