// `emflow bench --nodes N`, in a Slurm job of N hosts: frames of 4096² float32 streamed from an operator on the
// engine's host to one on each other host, and between two hosts that are not the engine's (agent to agent), each
// against a raw TCP stream of the same bytes between the same two hosts, measured in the same run.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readAllocation, type AllocationHost } from '../nodes/allocation.js';
import type { AgentEnvironment } from '../nodes/agent.js';
import { awaitHello, sameKey } from '../nodes/hello.js';
import { awayPorts } from '../nodes/placement.js';
import { connect, writeRecord } from '../nodes/wire.js';
import { AgentHub, agentStep, HostsRuntime } from '../nodes/hub.js';
import { defaultOperatorDirs, ProcessRuntime } from '../runtime/process.js';
import { EnvironmentError } from '../runtime/runtime.js';
import { median } from '../session/run.js';
import { Session } from '../session/session.js';

const BENCH_OPERATORS = fileURLToPath(new URL('../../bench-operators', import.meta.url));
const SIDE = 4096;
const FRAME_BYTES = SIDE * SIDE * 4;
const BENCH_EDGES = [{ from: { node: 'writer', port: 'data' }, to: { node: 'reader', port: 'data' } }];

export interface HostPair {
  from: string;
  to: string;
  frames: number;
  /** MB/s (10^6 bytes) of frames through the pipeline, and of the raw TCP stream */
  framesMBps: number;
  tcpMBps: number;
  ratio: number;
  target: string;
  met: boolean;
}

export interface NodesBench {
  frameBytes: number;
  pairs: HostPair[];
}

/** The one-byte answer once `bytes` are read: resolves with the seconds from the first byte written. */
async function sendAll(socket: Socket, bytes: number): Promise<number> {
  socket.setNoDelay(true);
  const chunk = randomBytes(FRAME_BYTES);
  const start = process.hrtime.bigint();
  const done = new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('close', () => reject(new EnvironmentError(`the TCP reader closed the connection before reading the ${bytes} bytes`)));
  });
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(bytes));
  socket.write(length);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)))) await new Promise((r) => socket.once('drain', r));
  }
  await done;
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** The first connection to `server` that says `secret` (32 raw bytes); others are cut off. */
function firstWithSecret(server: Server, secret: Buffer): Promise<Socket> {
  return new Promise((resolve) => server.on('connection', (s) => s.once('data', (hello: Buffer) => (sameKey(hello.toString('hex'), secret) ? resolve(s) : s.destroy()))));
}

/**
 * Seconds for `bytes` over one TCP connection from a job step on `from` (`emflow agent --source`) to one on `to`
 * (`--sink`), until the reader has read them all, as the sender times it. Nothing but TCP.
 */
async function rawTcp(engine: AllocationHost, from: AllocationHost, to: string, bytes: number): Promise<number> {
  const secret = randomBytes(32);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, engine.address, resolve));
  const { port } = server.address() as { port: number };
  const env = (address: string) => ({ ...process.env, EMFLOW_AGENT_ENGINE: address, EMFLOW_AGENT_SECRET: secret.toString('hex') });
  const source = agentStep(from.name, ['--source', String(bytes)], env(`${engine.address}:${port}`));
  let sink: ReturnType<typeof agentStep> | undefined;
  try {
    const ended = (step: ReturnType<typeof agentStep>, role: string) =>
      step.exited.then((exit) => Promise.reject(new EnvironmentError(`the TCP ${role} on ${role === 'writer' ? from.name : to} ended early (${JSON.stringify(exit)}): ${step.logTail()}`)));
    // the writer says where it listens, then how long the stream took
    const writer = new Promise<{ port: number; sent: Promise<number> }>((resolve) => {
      server.on('connection', (socket) =>
        awaitHello(socket, (hello) => {
          if (!sameKey(hello.secret, secret)) return undefined;
          let sent!: (seconds: number) => void;
          resolve({ port: Number(hello.port), sent: new Promise((r) => (sent = r)) });
          return (record) => record.t === 'sent' && sent(Number(record.seconds));
        }),
      );
    });
    const { port: listening, sent } = await Promise.race([writer, ended(source, 'writer')]);
    sink = agentStep(to, ['--sink'], env(`${from.address}:${listening}`));
    return await Promise.race([sent, ended(source, 'writer'), ended(sink, 'reader')]);
  } finally {
    await Promise.all([source.kill(), sink?.kill()]);
    server.close();
  }
}

/** Seconds for `frames` frames from bench-writer on `from` to bench-reader on `to` (a warm session, the engine on the first host). */
async function frameStream(hosts: AllocationHost[], from: string, to: string, frames: number, trials: number): Promise<number> {
  const used = hosts.filter((h, i) => i === 0 || h.name === from || h.name === to);
  const placement = new Map([
    ['writer', [from]],
    ['reader', [to]],
  ]);
  const operatorDirs = [BENCH_OPERATORS, ...defaultOperatorDirs()];
  const hub = await AgentHub.open({ hosts: used, placement, away: awayPorts(BENCH_EDGES, placement, hosts[0].name), runtime: { name: 'process', operatorDirs } });
  const pipeline = {
    emflow: 1,
    nodes: [
      // only the last value written: the transport is measured, not the writer filling frames
      { id: 'writer', operator: 'bench-writer', params: { size: SIDE * SIDE, count: frames, writes: 'last' } },
      { id: 'reader', operator: 'bench-reader' },
    ],
    edges: BENCH_EDGES,
  };
  try {
    const session = await Session.open({ pipeline, runtime: new HostsRuntime(new ProcessRuntime({ operatorDirs }), hub), cacheBytes: 0 });
    try {
      await session.run(); // warm: slots made on both hosts, code compiled
      const seconds: number[] = [];
      for (let trial = 0; trial < trials; trial++) seconds.push((await session.run()).wallMs / 1000);
      return median(seconds);
    } finally {
      await session.close();
    }
  } finally {
    await hub.close();
  }
}

export async function nodesBench(count: number, quick: boolean, say: (step: string) => void): Promise<NodesBench> {
  const hosts = await readAllocation();
  if (!hosts) throw new EnvironmentError('--nodes measures frames between the hosts of a Slurm job of several nodes: run it inside one (e.g. sbatch -N2 --wrap "emflow bench --nodes 2")');
  if (count > hosts.length) throw new EnvironmentError(`--nodes ${count}: this job has ${hosts.length} hosts`);
  const frames = quick ? 4 : 16;
  const trials = quick ? 1 : 3;
  const used = hosts.slice(0, count);
  // from the engine's host to each other; and, with three hosts or more, between two others (agent to agent)
  const routes = [...used.slice(1).map((to) => [used[0], to]), ...(count >= 3 ? [[used[1], used[2]]] : [])];
  const pairs: HostPair[] = [];
  for (const [from, to] of routes) {
    say(`frames of ${SIDE}² float32 from ${from.name} to ${to.name}, and raw TCP between them`);
    const samples: number[] = [];
    // raw TCP between namespaces varies more from one stream to the next than frames do: more samples
    for (let t = 0; t < (quick ? 1 : 5); t++) samples.push(await rawTcp(hosts[0], from, to.name, frames * FRAME_BYTES));
    const tcp = median(samples);
    const stream = await frameStream(hosts, from.name, to.name, frames, trials);
    const framesMBps = (frames * FRAME_BYTES) / stream / 1e6;
    const tcpMBps = (frames * FRAME_BYTES) / tcp / 1e6;
    const ratio = framesMBps / tcpMBps;
    pairs.push({ from: from.name, to: to.name, frames, framesMBps, tcpMBps, ratio, target: '≥ 0.5 × raw TCP', met: ratio >= 0.5 });
  }
  return { frameBytes: FRAME_BYTES, pairs };
}

/** The lines `emflow bench --nodes` prints. */
export function nodesTable(bench: NodesBench): string {
  const lines = [`frames of ${(bench.frameBytes / 2 ** 20).toFixed(0)} MiB (${SIDE}² float32) between hosts, against raw TCP between the same hosts (medians):`];
  for (const p of bench.pairs) {
    lines.push(`  ${p.from} → ${p.to}: ${p.framesMBps.toFixed(0)} MB/s of frames, raw TCP ${p.tcpMBps.toFixed(0)} MB/s: ${p.ratio.toFixed(2)} × (target ${p.target}) ${p.met ? 'met' : 'NOT met'}`);
  }
  return lines.join('\n');
}

/**
 * The writing end of the raw TCP stream (`emflow agent --source BYTES`, a job step on one host): tell the engine
 * where it listens, send `bytes` to the first reader that says the secret, and tell the engine how long that took.
 */
export async function rawSource(env: AgentEnvironment, bytes: number): Promise<number> {
  const control = await connect(env.engine);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, resolve));
  writeRecord(control, { t: 'hello', secret: env.secret, port: (server.address() as { port: number }).port });
  const reader = await firstWithSecret(server, Buffer.from(env.secret, 'hex'));
  server.close();
  writeRecord(control, { t: 'sent', seconds: await sendAll(reader, bytes) });
  reader.destroy();
  await new Promise<void>((resolve) => control.end(resolve));
  return 0;
}

/**
 * The reading end of the raw TCP stream (`emflow agent --sink`, a job step on another host): connect to the
 * writer, say the secret, read an 8-byte length and that many bytes, and answer one byte when all are in.
 */
export async function rawSink(env: AgentEnvironment): Promise<number> {
  const socket = await connect(env.engine);
  socket.write(Buffer.from(env.secret, 'hex'));
  await new Promise<void>((resolve, reject) => {
    let expected: bigint | undefined;
    let received = 0n;
    let head = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (expected === undefined) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 8) return;
        expected = head.readBigUInt64BE(0);
        received = BigInt(head.length - 8);
      } else {
        received += BigInt(chunk.length);
      }
      if (received >= expected) socket.end(Buffer.from([1]), resolve);
    });
    socket.once('close', () => reject(new Error(`the stream ended after ${received} of ${expected ?? '?'} bytes`)));
  });
  return 0;
}
