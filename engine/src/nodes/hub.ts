// The engine's side of a multi-node run: a TCP listener on the engine's host for the agents (one per other host
// with work, started as job steps) and the tunnels of their operators, and a Runtime that starts each worker on
// the host the placement gives it: the engine's own host through the local runtime, any other through its agent.
import { createHmac, randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnOperatorProcess } from '../runtime/local-process.js';
import { LogTail } from '../runtime/log-tail.js';
import { EnvironmentError, lastOutput, type ExitInfo, type OperatorCatalog, type OperatorInfo, type OperatorProcess, type Runtime, type StartRequest } from '../runtime/runtime.js';
import { nodeOfKey } from '../session/replicas.js';
import { timeout } from '../session/waits.js';
import type { AllocationHost } from './allocation.js';
import { awaitHello, sameKey } from './hello.js';
import { hostOfKey, type Placement } from './placement.js';
import { engineTunnel } from './tunnel.js';
import { writeRecord, type RecordHeader } from './wire.js';

const CLI_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/** How long an agent may take from `srun` to its hello (a busy controller, a cold node). */
const AGENT_CONNECT_MS = 60_000;
/** Hashed with the run's secret into the key agents present to each other (no host name holds a NUL). */
const PEER_KEY = '\0peers';

/** An `emflow agent` job step on a host (`--sweep`, `--sink`: its other uses), as a local process. */
export function agentStep(host: string, flags: string[], env: NodeJS.ProcessEnv): OperatorProcess {
  // srun passes SIGTERM on to the step; killed outright, it would leave the step's task running
  return spawnOperatorProcess('srun', ['--overlap', '-N1', '-n1', '-w', host, '--quiet', process.execPath, CLI_MAIN, 'agent', ...flags], env, { stopSignal: 'SIGTERM', stopGraceMs: 5000 });
}

/** The key an agent on `host` proves itself with: one per host, so that no host can speak for another. */
export function hostKey(secret: Buffer, host: string): Buffer {
  return createHmac('sha256', secret).update(host).digest();
}

/** Resolves true when `promise` settles within `ms`, false otherwise; the timer never outlives it. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const limit = timeout(ms);
  const outcome = await Promise.race([promise.then(() => 'done' as const), limit.promise]);
  limit.cancel();
  return outcome === 'done';
}

export interface HubOptions {
  hosts: readonly AllocationHost[];
  placement: Placement;
  /** what agents start operators with */
  runtime: { name: string; operatorDirs: string[]; images?: string };
  /** by node: the output ports whose frames the engine's host needs without their values (placement.ts awayPorts) */
  away?: ReadonlyMap<string, ReadonlySet<string>>;
  /** an agent's host was signalled (the job is being stopped): the run is interrupted, as by a signal here */
  onSignal?: (host: string, signal: string) => void;
}

interface Agent {
  host: string;
  control?: Socket;
  step: OperatorProcess;
  /** resolves when it has said hello and set up its slot folder */
  ready: Promise<void>;
  waiting: Map<string, (header: RecordHeader) => void>;
  operators: Map<string, { log: LogTail; exit: (info: ExitInfo) => void }>;
  /** host:port where the other agents fetch the frames of its host */
  peer?: string;
  /** why it is gone, once it is */
  lost?: string;
  /** it went before the hub closed: what it left on its host is swept at close */
  crashed?: boolean;
}

export class AgentHub {
  private readonly secret = randomBytes(32);
  private readonly agents = new Map<string, Agent>();
  private server?: Server;
  private session?: { dir: string; socket: string };
  private readonly connections = new Set<Socket>();
  /** each remote operator's tunnel, by the token it says hello with: cut before the operator is reported gone */
  private readonly tunnels = new Map<string, Socket>();
  /** each remote operator's output, by its token */
  private readonly logs = new Map<string, LogTail>();
  private closed?: Promise<void>;

  private constructor(private readonly options: HubOptions) {}

  get engineHost(): string {
    return this.options.hosts[0].name;
  }

  hostOf(key: string): string {
    return hostOfKey(key, this.options.placement, this.engineHost);
  }

  /** Listen on the engine host's address and start an agent on every other host that runs a worker. */
  static async open(options: HubOptions): Promise<AgentHub> {
    const hub = new AgentHub(options);
    await hub.listen();
    const used = new Set([...options.placement.values()].flat());
    for (const host of options.hosts.slice(1)) if (used.has(host.name)) hub.launch(host.name);
    try {
      await Promise.all([...hub.agents.values()].map((a) => a.ready));
    } catch (error) {
      await hub.close();
      throw error;
    }
    return hub;
  }

  private async listen(): Promise<void> {
    this.server = createServer((socket) => this.accept(socket));
    // a host's agent and its operators' tunnels; anyone else is cut off at hello
    this.server.maxConnections = 4096;
    await new Promise<void>((resolve, reject) => this.server!.once('error', reject).listen(0, this.options.hosts[0].address, resolve));
  }

  /** host:port where agents reach the engine */
  get address(): string {
    const { port } = this.server!.address() as { port: number };
    return `${this.options.hosts[0].address}:${port}`;
  }

  private launch(host: string): void {
    // the host's key goes through the step's environment, never its command line
    const env = { ...process.env, EMFLOW_AGENT_ENGINE: this.address, EMFLOW_AGENT_SECRET: hostKey(this.secret, host).toString('hex') };
    const step = agentStep(host, [], env);
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const agent: Agent = { host, step, ready, waiting: new Map(), operators: new Map() };
    agent.waiting.set('ready', (h) => (h.t === 'ready' ? settle.resolve() : settle.reject(new EnvironmentError(`the agent on ${host} could not set up: ${String(h.message)}`))));
    this.agents.set(host, agent);
    void within(ready, AGENT_CONNECT_MS)
      .then((inTime) => inTime || settle.reject(new EnvironmentError(`the agent on ${host} did not connect within ${AGENT_CONNECT_MS / 1000} s (srun -w ${host})`)))
      .catch(() => undefined);
    ready.catch(() => undefined); // awaited by open(); a later rejection is only the agent going
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
    // a host's agent, and its operators' tunnels
    awaitHello(socket, (hello) => {
      const agent = typeof hello.host === 'string' ? this.agents.get(hello.host) : undefined;
      if (!agent || agent.lost || !sameKey(hello.secret, hostKey(this.secret, agent.host))) return undefined;
      if (hello.role === 'tunnel' && this.session) {
        let token = '';
        return engineTunnel(socket, createConnection(this.session.socket), this.session.dir, {
          onHost: (key) => this.hostOf(key) === agent.host,
          peerOf: (key) => this.peerOf(key),
          hello: (said) => {
            token = said;
            this.tunnels.set(token, socket);
            socket.once('close', () => this.tunnels.delete(token));
          },
          // shown with the run's error, as the operator's last output
          failed: (message) => this.logs.get(token)?.push(`emflow agent on ${agent.host}: ${message}`, 'stderr'),
        });
      }
      if (hello.role !== 'agent' || agent.control) return undefined;
      agent.control = socket;
      socket.on('close', () => this.lose(agent, `the connection to the agent on ${agent.host} closed`));
      const { name, operatorDirs, images } = this.options.runtime;
      writeRecord(socket, { t: 'setup', runtime: name, operatorDirs, images, address: this.addressOf(agent.host), peerKey: hostKey(this.secret, PEER_KEY).toString('hex') });
      return (record) => this.fromAgent(agent, record);
    });
  }

  private addressOf(host: string): string {
    return this.options.hosts.find((h) => h.name === host)!.address;
  }

  /** host:port of the agent a worker key runs under, unless it runs on the engine's host. */
  private peerOf(key: string): string | undefined {
    const host = this.hostOf(key);
    return host === this.engineHost ? undefined : this.agents.get(host)?.peer;
  }

  private fromAgent(agent: Agent, record: RecordHeader): void {
    const node = String(record.node);
    switch (record.t) {
      case 'ready':
      case 'started':
      case 'failed': {
        const key = record.t === 'ready' || record.id === 'setup' ? 'ready' : String(record.id);
        // without the port its peers fetch from, its host's frames could reach no other host
        if (record.t === 'ready' && !Number.isInteger(record.port)) record = { t: 'failed', message: `said ready without a port for its peers (${String(record.port)})` };
        if (record.t === 'ready') agent.peer = `${this.addressOf(agent.host)}:${String(record.port)}`;
        agent.waiting.get(key)?.(record);
        agent.waiting.delete(key);
        break;
      }
      case 'signal':
        this.options.onSignal?.(agent.host, String(record.signal));
        break;
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
    agent.crashed = !this.closed;
    agent.control?.destroy();
    for (const operator of agent.operators.values()) operator.exit({ code: null, signal: null, reason: this.closed ? 'stopped with its host' : `lost with its host: ${why}` });
    agent.operators.clear();
    for (const answer of agent.waiting.values()) answer({ t: 'failed', message: why });
    agent.waiting.clear();
  }

  /** Start a worker through its host's agent. */
  async start(host: string, request: StartRequest): Promise<OperatorProcess> {
    this.session = request.session;
    const agent = this.agents.get(host);
    if (!agent) throw new EnvironmentError(`no agent runs on ${host} (it had no work when the run started)`);
    await agent.ready;
    if (agent.lost) throw new EnvironmentError(agent.lost);
    const id = `${request.node}#${randomBytes(4).toString('hex')}`;
    const log = new LogTail();
    let exit!: (info: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((resolve) => (exit = resolve));
    // a tunnel still carrying bytes must not outlive the worker: its slots are granted anew
    void exited.then(() => {
      this.tunnels.get(request.token)?.destroy();
      this.logs.delete(request.token);
    });
    agent.operators.set(request.node, { log, exit });
    this.logs.set(request.token, log);
    const answer = new Promise<RecordHeader>((resolve) => agent.waiting.set(id, resolve));
    const { operator } = request;
    const away = [...(this.options.away?.get(nodeOfKey(request.node)) ?? [])];
    writeRecord(agent.control!, { t: 'start', id, node: request.node, away, operator: operator.spec.name, identity: operator.identity, token: request.token, params: request.params });
    const started = await answer;
    if (started.t !== 'started') {
      agent.operators.delete(request.node);
      this.logs.delete(request.token);
      throw new EnvironmentError(String(started.message));
    }
    return {
      description: String(started.description),
      exited,
      logTail: () => log.text(),
      onLog: (listener) => log.onLine(listener),
      kill: async () => {
        this.tunnels.get(request.token)?.destroy();
        if (!agent.lost) writeRecord(agent.control!, { t: 'kill', node: request.node });
        await exited;
      },
    };
  }

  /** Tell every agent to stop its operators and go, and make sure their job steps have ended. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const agent of this.agents.values()) if (agent.control && !agent.lost) writeRecord(agent.control, { t: 'bye' });
      await Promise.all([...this.agents.values()].map(async (agent) => (await within(agent.step.exited, 10_000)) || (await agent.step.kill())));
      for (const socket of this.connections) socket.destroy();
      await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      // an agent killed outright could not remove its slot folder: a step on its host sweeps folders of dead agents
      await Promise.all(
        [...this.agents.values()]
          .filter((a) => a.crashed)
          .map(async (a) => {
            const sweep = agentStep(a.host, ['--sweep'], process.env);
            if (!(await within(sweep.exited, 30_000))) await sweep.kill();
          }),
      );
    })();
    return this.closed;
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
