// `emflow bench --nodes N`, in a Slurm job of N hosts: frames of 4096² float32 streamed from an operator on the
// engine's host to one on each other host, against a raw TCP stream of the same bytes between the same two hosts,
// measured in the same run.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readAllocation, type AllocationHost } from '../nodes/allocation.js';
import { connect, type AgentEnvironment } from '../nodes/agent.js';
import { AgentHub, agentStep, HostsRuntime } from '../nodes/hub.js';
import { defaultOperatorDirs, ProcessRuntime } from '../runtime/process.js';
import { EnvironmentError } from '../runtime/runtime.js';
import { median } from '../session/run.js';
import { Session } from '../session/session.js';

const BENCH_OPERATORS = fileURLToPath(new URL('../../bench-operators', import.meta.url));
const SIDE = 4096;
const FRAME_BYTES = SIDE * SIDE * 4;

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

/** Seconds for `bytes` sent over one TCP connection to a reader on `host` (a job step), until it has read them all. */
async function rawTcp(engine: AllocationHost, host: string, bytes: number): Promise<number> {
  const secret = randomBytes(32);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, engine.address, resolve));
  const { port } = server.address() as { port: number };
  const env = { ...process.env, EMFLOW_AGENT_ENGINE: `${engine.address}:${port}`, EMFLOW_AGENT_SECRET: secret.toString('hex') };
  const step = agentStep(host, ['--sink'], env);
  try {
    const socket = await new Promise<Socket>((resolve, reject) => {
      server.on('connection', (s) => s.once('data', (hello: Buffer) => (hello.length === secret.length && timingSafeEqual(hello, secret) ? resolve(s) : s.destroy())));
      void step.exited.then((exit) => reject(new EnvironmentError(`the TCP reader on ${host} ended before connecting (${JSON.stringify(exit)}): ${step.logTail()}`)));
    });
    socket.setNoDelay(true);
    const chunk = randomBytes(FRAME_BYTES);
    const start = process.hrtime.bigint();
    // the reader answers one byte once it has read every byte
    const done = new Promise<void>((resolve, reject) => {
      socket.once('data', () => resolve());
      socket.once('close', () => reject(new EnvironmentError(`the TCP reader on ${host} closed the connection before reading the ${bytes} bytes`)));
    });
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes));
    socket.write(length);
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      if (!socket.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)))) await new Promise((r) => socket.once('drain', r));
    }
    await done;
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    await step.kill();
    server.close();
  }
}

/** Seconds for `frames` frames from bench-writer on the engine's host to bench-reader on `host` (a warm session). */
async function frameStream(hosts: AllocationHost[], host: string, frames: number, trials: number): Promise<number> {
  const pair = [hosts[0], hosts.find((h) => h.name === host)!];
  const placement = new Map([
    ['writer', [pair[0].name]],
    ['reader', [host]],
  ]);
  const operatorDirs = [BENCH_OPERATORS, ...defaultOperatorDirs()];
  const hub = await AgentHub.open({ hosts: pair, placement, runtime: { name: 'process', operatorDirs } });
  const pipeline = {
    emflow: 1,
    nodes: [
      // only the last value written: the transport is measured, not the writer filling frames
      { id: 'writer', operator: 'bench-writer', params: { size: SIDE * SIDE, count: frames, writes: 'last' } },
      { id: 'reader', operator: 'bench-reader' },
    ],
    edges: [{ from: { node: 'writer', port: 'data' }, to: { node: 'reader', port: 'data' } }],
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
  const pairs: HostPair[] = [];
  for (const host of hosts.slice(1, count)) {
    say(`frames of ${SIDE}² float32 from ${hosts[0].name} to ${host.name}, and raw TCP between them`);
    const samples: number[] = [];
    for (let t = 0; t < trials; t++) samples.push(await rawTcp(hosts[0], host.name, frames * FRAME_BYTES));
    const tcp = median(samples);
    const stream = await frameStream(hosts, host.name, frames, trials);
    const framesMBps = (frames * FRAME_BYTES) / stream / 1e6;
    const tcpMBps = (frames * FRAME_BYTES) / tcp / 1e6;
    const ratio = framesMBps / tcpMBps;
    pairs.push({ from: hosts[0].name, to: host.name, frames, framesMBps, tcpMBps, ratio, target: '≥ 0.5 × raw TCP', met: ratio >= 0.5 });
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
 * The other end of the raw TCP stream (`emflow agent --sink`, a job step on the other host): connect, say the
 * secret, read an 8-byte length and that many bytes, and answer one byte when all are in. Nothing but TCP.
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
