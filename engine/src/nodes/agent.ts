// `emflow agent`: one per host of a multi-node run but the engine's, started by the engine as a Slurm job step
// (`srun --overlap -N1 -w HOST`). It connects back to the engine over TCP, starts that host's operators with a local
// runtime in a slot folder of its own, carries each operator's control connection to the engine (tunnel.ts), serves
// its operators' frames to the run's other agents and fetches theirs (peers.ts), and reports their output and exits.
// When the engine goes, it stops its operators, removes its folder and exits.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../runtime/index.js';
import type { OperatorProcess, Runtime, SessionPaths } from '../runtime/runtime.js';
import { createSessionDir, removeSessionDir } from '../session/session-dir.js';
import { PeerFetcher, PeerServer } from './peers.js';
import { portOf, writerOf } from './slot-sync.js';
import { agentTunnel, type AgentSide } from './tunnel.js';
import { connect, openTcp, readRecords, writeRecord, type RecordHeader } from './wire.js';

/** What the agent needs from its environment: never its command line, which every user of the machine can read. */
export interface AgentEnvironment {
  /** host:port of the engine */
  engine: string;
  secret: string;
  /** the Slurm node name this agent serves */
  host: string;
}

/** Read from the environment, and removed from it: the operators this agent starts inherit the rest. */
export function agentEnvironment(env: NodeJS.ProcessEnv = process.env): AgentEnvironment {
  const missing = ['EMFLOW_AGENT_ENGINE', 'EMFLOW_AGENT_SECRET'].filter((name) => !env[name]);
  if (missing.length) throw new Error(`emflow agent is started by a multi-node run, not by hand: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`);
  const agent = { engine: env.EMFLOW_AGENT_ENGINE!, secret: env.EMFLOW_AGENT_SECRET!, host: env.SLURMD_NODENAME || hostname() };
  delete env.EMFLOW_AGENT_ENGINE;
  delete env.EMFLOW_AGENT_SECRET;
  return agent;
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
  /** by worker key: its output ports whose values stay away from the engine's host */
  const away = new Map<string, Set<string>>();
  let peers: { server: PeerServer; fetcher: PeerFetcher } | undefined;

  const finish = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((p) => p.kill().catch(() => undefined)));
    operatorServer?.close();
    peers?.server.close();
    peers?.fetcher.close();
    try {
      if (paths) removeSessionDir(paths.dir);
    } catch {
      // left for a sweep (emflow agent --sweep) to remove
    }
  };

  const setup = async (header: RecordHeader) => {
    // the runtimes whose operators run on this host and map its shared memory (a docker daemon is the host's own)
    if (header.runtime !== 'process' && header.runtime !== 'singularity' && header.runtime !== 'apptainer') throw new Error(`runtime ${String(header.runtime)} does not run on agents (process or singularity)`);
    const peerKey = Buffer.from(typeof header.peerKey === 'string' ? header.peerKey : '', 'hex');
    if (peerKey.length !== 32) throw new Error('the engine sent no key for the agents to fetch frames from each other with');
    runtime = createRuntime(header.runtime, { operatorDirs: header.operatorDirs as string[], images: header.images as string | undefined });
    const { id, dir } = createSessionDir(runtime.fileOwner);
    paths = { id, dir, socket: join(dir, 'control.sock') };
    const local = (key: string) => keys.has(key);
    const server = new PeerServer(dir, peerKey, local);
    const fetcher = new PeerFetcher(dir, peerKey);
    peers = { server, fetcher };
    const side: AgentSide = {
      dir,
      local,
      away: (slot) => away.get(writerOf(slot))?.has(portOf(slot)) ?? false,
      fetch: (ref, from) => fetcher.fetch(ref, from),
      released: (slot) => server.drop(slot),
    };
    operatorServer = createServer((operator) => {
      // each operator's connection goes to the engine on a TCP connection of its own
      const wire = openTcp(env.engine);
      writeRecord(wire, hello('tunnel'));
      readRecords(wire, agentTunnel(operator, wire, side));
    });
    await new Promise<void>((resolve, reject) => operatorServer!.once('error', reject).listen(paths!.socket, resolve));
    return peers.server.listen(String(header.address));
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
      away.set(node, new Set(Array.isArray(header.away) ? header.away.map(String) : []));
      // its slot folder, as the engine makes it on its own host (a container binds it before any grant)
      mkdirSync(join(paths.dir, node), { recursive: true, mode: 0o700 });
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
            (port) => writeRecord(control, { t: 'ready', port }),
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
    // srun passes the job's cancellation on as SIGTERM (a terminal's Ctrl-C reaches the whole step): the engine is
    // told first, so that it stops the run as interrupted, not as failed when this host's operators go
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.on(signal, () => {
        if (!control.destroyed) writeRecord(control, { t: 'signal', signal });
        end(1);
      });
    }
  });
}
