// The engine's side of a multi-node run: a TCP listener on the engine's host for the agents (one per other host,
// started as job steps) and the tunnels of their operators, and a Runtime that starts each worker on the host the
// placement gives it: the engine's own host through the local runtime, any other through that host's agent.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnOperatorProcess } from '../runtime/local-process.js';
import { LogTail } from '../runtime/log-tail.js';
import { EnvironmentError, lastOutput, type ExitInfo, type OperatorCatalog, type OperatorInfo, type OperatorProcess, type Runtime, type StartRequest } from '../runtime/runtime.js';
import { nodeOfKey } from '../session/replicas.js';
import type { AllocationHost } from './allocation.js';
import type { Placement } from './placement.js';
import { engineTunnel } from './tunnel.js';
import { readRecords, writeRecord, type RecordHeader } from './wire.js';

const CLI_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/** How long an agent may take from `srun` to its hello (a busy controller, a cold node). */
const AGENT_CONNECT_MS = 60_000;

export interface HubOptions {
  hosts: readonly AllocationHost[];
  placement: Placement;
  /** what agents start operators with */
  runtime: { name: string; operatorDirs: string[]; images?: string };
}

interface Agent {
  host: string;
  control?: Socket;
  step: OperatorProcess;
  /** resolves when it has said hello and set up its slot folder */
  ready: Promise<void>;
  waiting: Map<string, { resolve: (header: RecordHeader) => void }>;
  operators: Map<string, { log: LogTail; exit: (info: ExitInfo) => void }>;
  /** why it is gone, once it is */
  lost?: string;
  /** it went before the hub closed: what it left on its host is swept at close */
  crashed?: boolean;
}

/** The host of a worker key: its node's placement, replicas beyond those placed going round the hosts. */
export function hostOfKey(key: string, placement: Placement, hosts: readonly { name: string }[]): string {
  const node = nodeOfKey(key);
  const replica = Number(/\.r(\d+)$/.exec(key)?.[1] ?? 0);
  const placed = placement.get(node);
  if (!placed) return hosts[0].name;
  if (replica < placed.length) return placed[replica];
  const first = hosts.findIndex((h) => h.name === placed[0]);
  return hosts[(first + replica) % hosts.length].name;
}

export class AgentHub {
  private readonly secret = randomBytes(32);
  private readonly agents = new Map<string, Agent>();
  private server?: Server;
  private session?: { dir: string; socket: string };
  private readonly connections = new Set<Socket>();
  private closing = false;

  private constructor(private readonly options: HubOptions) {}

  get engineHost(): string {
    return this.options.hosts[0].name;
  }

  hostOf(key: string): string {
    return hostOfKey(key, this.options.placement, this.options.hosts);
  }

  /** Listen on the engine host's address and start an agent on every other host that runs a worker. */
  static async open(options: HubOptions): Promise<AgentHub> {
    const hub = new AgentHub(options);
    await hub.listen();
    const used = new Set([...options.placement.values()].flat());
    const remote = options.hosts.slice(1).filter((h) => used.has(h.name));
    remote.forEach((h) => hub.launch(h.name));
    try {
      await Promise.all([...hub.agents.values()].map((a) => a.ready));
    } catch (error) {
      await hub.close();
      throw error;
    }
    return hub;
  }

  private async listen(): Promise<void> {
    const engine = this.options.hosts[0];
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => this.server!.once('error', reject).listen(0, engine.address, resolve));
  }

  private get address(): string {
    const { port } = this.server!.address() as { port: number };
    return `${this.options.hosts[0].address}:${port}`;
  }

  private launch(host: string): void {
    const args = ['--overlap', '-N1', '-n1', '-w', host, '--quiet', process.execPath, CLI_MAIN, 'agent'];
    // the secret goes through the step's environment, never its command line
    const env = { ...process.env, EMFLOW_AGENT_ENGINE: this.address, EMFLOW_AGENT_SECRET: this.secret.toString('hex') };
    const step = spawnOperatorProcess('srun', args, env, { stopSignal: 'SIGTERM', stopGraceMs: 5000 });
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const agent: Agent = { host, step, ready, waiting: new Map(), operators: new Map() };
    agent.waiting.set('ready', { resolve: (h) => (h.t === 'ready' ? settle.resolve() : settle.reject(new EnvironmentError(`the agent on ${host} could not set up: ${String(h.message)}`))) });
    this.agents.set(host, agent);
    const timer = setTimeout(() => settle.reject(new EnvironmentError(`the agent on ${host} did not connect within ${AGENT_CONNECT_MS / 1000} s (srun ${args.slice(0, 6).join(' ')})`)), AGENT_CONNECT_MS);
    void ready.finally(() => clearTimeout(timer)).catch(() => undefined);
    void step.exited.then(async (exit) => {
      const output = (await lastOutput(step)).trim();
      const why = `the agent on ${host} ended (srun ${exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`})${output ? `: ${output.split('\n').slice(-3).join(' | ')}` : ''}`;
      settle.reject(new EnvironmentError(why));
      this.lose(agent, why);
    });
  }

  private accept(socket: Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    // the first record says who it is; anything else, or a wrong secret, is cut off
    let handle: (header: RecordHeader, body: Buffer[]) => void = (header) => {
      const given = Buffer.from(typeof header.secret === 'string' ? header.secret : '', 'hex');
      const agent = typeof header.host === 'string' ? this.agents.get(header.host) : undefined;
      if (header.t !== 'hello' || !agent || given.length !== this.secret.length || !timingSafeEqual(given, this.secret) || agent.lost) return void socket.destroy();
      clearTimeout(silent);
      if (header.role === 'tunnel' && this.session) {
        handle = engineTunnel(socket, createConnection(this.session.socket), this.session.dir, (key) => this.hostOf(key) === agent.host);
      } else if (header.role === 'agent' && !agent.control) {
        agent.control = socket;
        handle = (record) => this.fromAgent(agent, record);
        socket.on('close', () => this.lose(agent, `the connection to the agent on ${agent.host} closed`));
        const { name, operatorDirs, images } = this.options.runtime;
        writeRecord(socket, { t: 'setup', runtime: name, operatorDirs, images });
      } else {
        socket.destroy();
      }
    };
    readRecords(socket, (header, body) => handle(header, body));
    // a peer that says nothing is not kept
    const silent = setTimeout(() => socket.destroy(), 10_000);
  }

  private fromAgent(agent: Agent, record: RecordHeader): void {
    const node = String(record.node);
    switch (record.t) {
      case 'ready':
      case 'started':
      case 'failed': {
        const key = record.t === 'ready' || record.id === 'setup' ? 'ready' : String(record.id);
        agent.waiting.get(key)?.resolve(record);
        agent.waiting.delete(key);
        break;
      }
      case 'log':
        agent.operators.get(node)?.log.push(String(record.line), record.stream === 'stderr' ? 'stderr' : 'stdout');
        break;
      case 'exited':
        agent.operators.get(node)?.exit({ code: (record.code as number | null) ?? null, signal: (record.signal as string | null) ?? null, reason: record.reason as string | undefined });
        agent.operators.delete(node);
        break;
    }
  }

  /** An agent is gone: everything it ran is gone with it. */
  private lose(agent: Agent, why: string): void {
    if (agent.lost) return;
    agent.lost = why;
    agent.crashed = !this.closing;
    agent.control?.destroy();
    for (const operator of agent.operators.values()) operator.exit({ code: null, signal: null, reason: this.closing ? 'stopped with its host' : `lost with its host: ${why}` });
    agent.operators.clear();
    for (const waiting of agent.waiting.values()) waiting.resolve({ t: 'failed', message: why });
    agent.waiting.clear();
  }

  /** Start a worker through its host's agent. */
  async start(host: string, request: StartRequest): Promise<OperatorProcess> {
    this.session = request.session;
    const agent = this.agents.get(host)!;
    await agent.ready;
    if (agent.lost) throw new Error(agent.lost);
    const id = `${request.node}#${randomBytes(4).toString('hex')}`;
    const log = new LogTail();
    let exit!: (info: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((resolve) => (exit = resolve));
    agent.operators.set(request.node, { log, exit });
    const answer = new Promise<RecordHeader>((resolve) => agent.waiting.set(id, { resolve }));
    const { operator } = request;
    writeRecord(agent.control!, { t: 'start', id, node: request.node, operator: operator.spec.name, identity: operator.identity, token: request.token, params: request.params });
    const started = await answer;
    if (started.t !== 'started') {
      agent.operators.delete(request.node);
      throw new Error(String(started.message));
    }
    return {
      description: String(started.description),
      exited,
      logTail: () => log.text(),
      onLog: (listener) => log.onLine(listener),
      kill: async () => {
        if (!agent.lost) writeRecord(agent.control!, { t: 'kill', node: request.node });
        await exited;
      },
    };
  }

  /** Tell every agent to stop its operators and go; then make sure their job steps have ended. */
  async close(): Promise<void> {
    this.closing = true;
    for (const agent of this.agents.values()) if (agent.control && !agent.lost) writeRecord(agent.control, { t: 'bye' });
    await Promise.all(
      [...this.agents.values()].map(async (agent) => {
        const ended = await Promise.race([agent.step.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000))]);
        if (!ended) await agent.step.kill();
      }),
    );
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    // an agent killed outright could not remove its slot folder: a step on its host sweeps the folders of dead agents
    await Promise.all([...this.agents.values()].filter((a) => a.crashed).map((a) => this.sweep(a.host)));
  }

  private async sweep(host: string): Promise<void> {
    const step = spawnOperatorProcess('srun', ['--overlap', '-N1', '-n1', '-w', host, '--quiet', process.execPath, CLI_MAIN, 'agent', '--sweep'], process.env);
    const ended = await Promise.race([step.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 30_000))]);
    if (!ended) await step.kill();
  }
}

/** A Runtime that runs each worker on its placed host: here through `local`, elsewhere through the hub's agents. */
export class HostsRuntime implements Runtime {
  readonly name: string;
  readonly fileOwner: Runtime['fileOwner'];

  constructor(
    private readonly local: Runtime,
    readonly hub: AgentHub,
  ) {
    this.name = local.name;
    this.fileOwner = local.fileOwner;
  }

  catalog(): Promise<OperatorCatalog> {
    return this.local.catalog();
  }

  start(request: StartRequest): Promise<OperatorProcess> {
    const host = this.hub.hostOf(request.node);
    return host === this.hub.engineHost ? this.local.start(request) : this.hub.start(host, request);
  }

  needsRestart(operator: OperatorInfo, before: Record<string, unknown>, after: Record<string, unknown>): boolean {
    return this.local.needsRestart?.(operator, before, after) ?? false;
  }
}
