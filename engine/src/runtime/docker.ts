// The docker runtime: every operator a container from an image labelled `emflow.operator`, through dockerode.
// Containers see the session directory read-only (inputs, the socket) with only their own node's slot folder
// writable, and the paths their params name; no network, read-only root, no capabilities, a non-root user,
// and memory, CPU and process limits (the spec's `resources`, or defaults).
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { CONTAINER_USER } from '../build/images.js';
import { isAlive } from '../session/session-dir.js';
import { dataBinds, DEFAULT_LIMITS, memoryBytes, prepareWriteFolders, type ContainerLimits } from './binds.js';
import { specFromLabel } from './image-spec.js';
import { LogTail } from './log-tail.js';
import { EnvironmentError, type ExitInfo, type OperatorCatalog, type OperatorInfo, type OperatorProcess, type Runtime, type StartRequest } from './runtime.js';

/** Where the session directory appears inside containers. */
export const CONTAINER_SESSION_DIR = '/emflow/session';
const LABEL_SESSION = 'emflow.session';
const LABEL_ENGINE = 'emflow.engine';

/** The labels by which containers left by an engine that died are found and removed (sweepLeftovers). */
export const ownerLabels = (session: string) => ({ [LABEL_SESSION]: session, [LABEL_ENGINE]: `${hostname()}:${process.pid}` });

export const defaultDockerSocket = () => process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';

/** A client of the local Docker daemon, or an actionable one-line error when it cannot be reached. */
export async function connectDocker(socketPath = defaultDockerSocket()): Promise<Docker> {
  const docker = new Docker({ socketPath });
  try {
    await docker.ping();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new EnvironmentError(`docker runtime: cannot reach the Docker daemon at ${socketPath} (${reason}); start it (e.g. \`dockerd &\` or \`systemctl start docker\`) or use --runtime process`);
  }
  return docker;
}

/** Remove a container before this process exits: a child process makes the request and is waited for (at most 5 s). */
export function removeContainerSync(socketPath: string, id: string): void {
  const request = `require('http').request({ socketPath: ${JSON.stringify(socketPath)}, path: '/containers/${id}?force=true', method: 'DELETE' }, (r) => r.resume()).on('error', () => {}).end()`;
  spawnSync(process.execPath, ['-e', request], { timeout: 5000, stdio: 'ignore' });
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker';
  private docker?: Docker;
  private listing?: Promise<OperatorCatalog>;

  private readonly limits: ContainerLimits;

  constructor(
    private readonly socketPath = defaultDockerSocket(),
    limits: Partial<ContainerLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** A container's mounts are fixed when it starts: params that name other files need a new container. */
  needsRestart(operator: OperatorInfo, before: Record<string, unknown>, after: Record<string, unknown>): boolean {
    return dataBinds(operator.spec, before).join('\n') !== dataBinds(operator.spec, after).join('\n');
  }

  /** Containers run as the engine's own user, or as an unprivileged one when the engine is root. */
  readonly user = process.getuid?.() === 0 || process.getuid === undefined ? CONTAINER_USER : { uid: process.getuid(), gid: process.getgid!() };
  /** When that is another user, the session directory and slot files are given to it. */
  readonly fileOwner = this.user === CONTAINER_USER ? CONTAINER_USER : undefined;

  catalog(): Promise<OperatorCatalog> {
    this.listing ??= (async () => {
      const docker = (this.docker = await connectDocker(this.socketPath));
      await this.sweepLeftovers(docker);
      const images = await docker.listImages({ filters: { label: ['emflow.operator'] } });
      // newest first, so that the newest image of an operator name wins
      images.sort((a, b) => b.Created - a.Created);
      const catalog: OperatorCatalog = { operators: [], problems: [] };
      const seen = new Set<string>();
      for (const image of images) {
        const location = image.RepoTags?.find((t) => t !== '<none>:<none>') ?? image.Id;
        const spec = specFromLabel(image.Labels['emflow.operator']);
        if ('problem' in spec) {
          catalog.problems.push({ location, message: spec.problem });
          continue;
        }
        if (seen.has(spec.name)) continue;
        seen.add(spec.name);
        catalog.operators.push({ spec, identity: image.Id, location, aliases: image.RepoTags?.filter((t) => t !== '<none>:<none>') ?? [] });
      }
      return catalog;
    })();
    return this.listing;
  }

  /** Remove containers left by engines that died (never those of a live engine on this host). */
  private async sweepLeftovers(docker: Docker): Promise<void> {
    const containers = await docker.listContainers({ all: true, filters: { label: [LABEL_SESSION] } });
    for (const c of containers) {
      const [host, pid] = (c.Labels[LABEL_ENGINE] ?? '').split(':');
      if (host === hostname() && pid && !isAlive(Number(pid))) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
  }

  async start({ node, operator, session, token, params }: StartRequest): Promise<OperatorProcess> {
    const resources = { ...this.limits, ...operator.spec.resources };
    if (!this.docker) await this.catalog();
    const binds = dataBinds(operator.spec, params);
    prepareWriteFolders(binds, this.user);
    const container = await this.docker!
      .createContainer({
        Image: operator.location,
        name: `emflow-${session.id}-${node}`,
        Env: [`EMFLOW_SOCKET=${CONTAINER_SESSION_DIR}/control.sock`, `EMFLOW_SESSION_DIR=${CONTAINER_SESSION_DIR}`, `EMFLOW_TOKEN=${token}`, `EMFLOW_NODE=${node}`],
        User: `${this.user.uid}:${this.user.gid}`,
        Labels: { ...ownerLabels(session.id), 'emflow.node': node },
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          Binds: [`${session.dir}:${CONTAINER_SESSION_DIR}:ro`, `${join(session.dir, node)}:${CONTAINER_SESSION_DIR}/${node}:rw`, ...binds],
          NetworkMode: 'none',
          ReadonlyRootfs: true,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          Tmpfs: { '/tmp': 'rw,size=64m' },
          Memory: memoryBytes(resources.memory),
          NanoCpus: Math.round(resources.cpus * 1e9),
          PidsLimit: resources.pids,
        },
      })
      .catch((error: { statusCode?: number; message: string }) => {
        if (error.statusCode === 404) throw new Error(`image ${operator.location} is not available locally; build it with \`emflow build\``);
        throw error;
      });
    const log = new LogTail();
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    container.modem.demuxStream(stream, stdout, stderr);
    stream.on('end', () => {
      stdout.end();
      stderr.end();
    });
    log.follow(stdout, 'stdout');
    log.follow(stderr, 'stderr');
    await container.start();
    const exited: Promise<ExitInfo> = container
      .wait()
      .then(async ({ StatusCode }: { StatusCode: number }) => {
        const state = await container.inspect().then((i) => i.State, () => undefined);
        return { code: StatusCode, signal: null, reason: state?.OOMKilled ? 'OOMKilled: out of memory' : undefined };
      })
      .catch((error: Error) => ({ code: null, signal: null, reason: error.message }))
      .finally(() => container.remove({ force: true }).catch(() => undefined));
    return {
      description: `container ${container.id.slice(0, 12)}`,
      exited,
      logTail: () => log.text(),
      onLog: (listener) => log.onLine(listener),
      kill: async () => {
        await container.kill().catch(() => undefined);
        await exited;
      },
      // a container is the daemon's, not a child: at exit it is removed by a short synchronous request
      killSync: () => removeContainerSync(this.socketPath, container.id),
    };
  }
}
