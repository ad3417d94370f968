// `emflow agent`: one per host of a multi-node run but the engine's, started by the engine as a Slurm job step
// (`srun --overlap -N1 -w HOST`). It connects back to the engine over TCP, starts that host's operators with a local
// runtime in a slot folder of its own, carries each operator's control connection to the engine (tunnel.ts), and
// reports their output and exits. When the engine goes, it stops its operators, removes its folder and exits.
import { createConnection, createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../runtime/index.js';
import type { OperatorProcess, Runtime, SessionPaths } from '../runtime/runtime.js';
import { createSessionDir, removeSessionDir } from '../session/session-dir.js';
import { agentTunnel } from './tunnel.js';
import { readRecords, writeRecord, type RecordHeader } from './wire.js';

/** What the agent needs from its environment: never its command line, which every user of the machine can read. */
export interface AgentEnvironment {
  /** host:port of the engine */
  engine: string;
  secret: string;
  /** the Slurm node name this agent serves */
  host: string;
}

export function agentEnvironment(env: NodeJS.ProcessEnv = process.env): AgentEnvironment {
  const missing = ['EMFLOW_AGENT_ENGINE', 'EMFLOW_AGENT_SECRET'].filter((name) => !env[name]);
  if (missing.length) throw new Error(`emflow agent is started by a multi-node run, not by hand: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`);
  return { engine: env.EMFLOW_AGENT_ENGINE!, secret: env.EMFLOW_AGENT_SECRET!, host: env.SLURMD_NODENAME || hostname() };
}

function connect(address: string): Promise<Socket> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: address.slice(0, at), port: Number(address.slice(at + 1)) }, () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Serve the engine until it says bye or goes away; resolves with the exit code. */
export async function runAgent(env: AgentEnvironment): Promise<number> {
  const control = await connect(env.engine);
  const hello = (role: string): RecordHeader => ({ t: 'hello', role, host: env.host, secret: env.secret });
  writeRecord(control, hello('agent'));
  const processes = new Map<string, OperatorProcess>();
  let runtime: Runtime | undefined;
  let paths: SessionPaths | undefined;
  let operatorServer: ReturnType<typeof createServer> | undefined;
  const keys = new Set<string>();

  const finish = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((p) => p.kill().catch(() => undefined)));
    operatorServer?.close();
    if (paths) removeSessionDir(paths.dir);
  };

  const setup = async (header: RecordHeader) => {
    runtime = createRuntime(String(header.runtime), { operatorDirs: header.operatorDirs as string[], images: header.images as string | undefined });
    const { id, dir } = createSessionDir(runtime.fileOwner);
    paths = { id, dir, socket: join(dir, 'control.sock') };
    const folder = dir;
    operatorServer = createServer((operator) => {
      // each operator's connection goes to the engine on a TCP connection of its own
      connect(env.engine).then(
        async (wire) => {
          writeRecord(wire, hello('tunnel'));
          readRecords(wire, agentTunnel(operator, wire, folder, (key) => keys.has(key)));
        },
        () => operator.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => operatorServer!.once('error', reject).listen(paths!.socket, resolve));
  };

  const start = async (header: RecordHeader) => {
    const node = String(header.node);
    try {
      if (!runtime || !paths) throw new Error('no setup before start');
      const catalog = await runtime.catalog();
      const info = catalog.operators.find((o) => o.spec.name === header.operator);
      if (!info) throw new Error(`operator "${String(header.operator)}" is not in the ${runtime.name} runtime's catalog on ${env.host}`);
      if (info.identity !== header.identity) throw new Error(`operator "${info.spec.name}" on ${env.host} is another build (${info.identity}) than the engine's (${String(header.identity)})`);
      keys.add(node);
      const started = await runtime.start({ node, operator: info, session: paths, token: String(header.token), params: header.params as Record<string, unknown> });
      processes.set(node, started);
      started.onLog((line, stream) => writeRecord(control, { t: 'log', node, stream, line }));
      void started.exited.then((exit) => {
        processes.delete(node);
        writeRecord(control, { t: 'exited', node, ...exit });
      });
      writeRecord(control, { t: 'started', id: header.id, description: `${started.description} on ${env.host}` });
    } catch (error) {
      writeRecord(control, { t: 'failed', id: header.id, message: (error as Error).message });
    }
  };

  return new Promise<number>((resolve) => {
    let done = false;
    const end = (code: number) => {
      if (done) return;
      done = true;
      void finish().then(() => {
        control.destroy();
        resolve(code);
      });
    };
    readRecords(control, (header) => {
      switch (header.t) {
        case 'setup':
          setup(header).then(
            () => writeRecord(control, { t: 'ready' }),
            (error: Error) => writeRecord(control, { t: 'failed', id: 'setup', message: error.message }),
          );
          break;
        case 'start':
          void start(header);
          break;
        case 'kill':
          void processes.get(String(header.node))?.kill();
          break;
        case 'bye':
          end(0);
          break;
      }
    });
    control.on('close', () => end(1));
    control.on('error', () => end(1));
    // srun passes the job's cancellation on as SIGTERM; a terminal's Ctrl-C reaches the whole step
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => end(1));
  });
}

/**
 * emflow bench --nodes: connect, say the secret, read the stream (an 8-byte length, then that many bytes) and answer
 * one byte when all are in (the reference rate: nothing but TCP).
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
