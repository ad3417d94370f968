// The singularity runtime (alias apptainer): every operator a SIF image run as a long-lived `apptainer exec`
// child speaking the same protocol as on the other runtimes. Inside a Slurm allocation each operator is its
// own job step (`srun --exact --overlap` with the spec's resources), so Slurm accounts for and limits it.
//
// Isolation: --containall (own PID and IPC namespaces, a minimal /dev, private /tmp, no home, clean
// environment), a network namespace with loopback only (--net --network none, which unprivileged Apptainer
// allows), only the session directory (read-only, the node's own slot folder writable) and the files the params
// name bound in, never all of /dev/shm; the image is read-only. Memory and CPU limits where Apptainer can set them.
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { OperatorSpec } from '@emflow/sdk';
import { writeNewFile } from '@emflow/formats';
import { defaultImagesDir, findApptainer, OPERATOR_COMMAND } from '../build/sif.js';
import { dataBinds, memoryBytes, prepareWriteFolders } from './binds.js';
import { CONTAINER_SESSION_DIR } from './docker.js';
import { specFromLabel } from './image-spec.js';
import { spawnOperatorProcess } from './local-process.js';
import { conflictMessage, type OperatorCatalog, type OperatorInfo, type OperatorProcess, type Runtime, type StartRequest } from './runtime.js';

const run = promisify(execFile);

export interface SingularityOptions {
  /** folder of SIF images (default: $EMFLOW_IMAGES, or the user's cache) */
  images?: string;
  /** the apptainer/singularity command (default: $EMFLOW_APPTAINER, or the first on PATH) */
  apptainer?: string;
  /** start operators as Slurm job steps (default: when inside an allocation, $SLURM_JOB_ID set) */
  slurm?: boolean;
}

/** What `apptainer inspect` and hashing found out about one SIF, remembered by its file identity. */
interface IndexEntry {
  identity: string;
  labels: Record<string, string>;
  digest: string;
}

const INDEX = '.emflow-index.json';
const fileIdentity = (path: string) => {
  const s = statSync(path);
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
};

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** The labels of `apptainer inspect --labels --json` (its layout differs between versions). */
export function labelsOf(json: string): Record<string, string> {
  const parsed = JSON.parse(json) as { data?: { attributes?: { labels?: unknown } }; labels?: unknown };
  const labels = parsed.data?.attributes?.labels ?? parsed.labels ?? parsed;
  return labels && typeof labels === 'object' ? (labels as Record<string, string>) : {};
}

/** srun options that make an operator's job step hold what its spec asks for. */
export function stepResources(spec: OperatorSpec): string[] {
  const resources = { cpus: 1, ...spec.resources };
  const args = [`--cpus-per-task=${Math.max(1, Math.ceil(resources.cpus))}`];
  if (resources.memory !== undefined) args.push(`--mem=${Math.ceil(memoryBytes(resources.memory) / 2 ** 20)}M`);
  if (resources.gpu) args.push(`--gres=gpu:${resources.gpu}`);
  return args;
}

/**
 * Memory and CPU limits from the spec's `resources`, when apptainer can apply them: as root, or with cgroups v2
 * (an unprivileged user on cgroups v1 cannot, and asking would fail the start). Under Slurm the job step limits.
 */
export function containerLimits(spec: OperatorSpec, root: boolean, cgroupsV2 = existsSync('/sys/fs/cgroup/cgroup.controllers')): string[] {
  if (!root && !cgroupsV2) return [];
  const { memory, cpus } = spec.resources ?? {};
  return [...(memory !== undefined ? ['--memory', String(memoryBytes(memory))] : []), ...(cpus !== undefined ? ['--cpus', String(cpus)] : [])];
}

export class SingularityRuntime implements Runtime {
  readonly name = 'singularity';
  readonly images: string;
  private listing?: Promise<OperatorCatalog>;
  private command?: Promise<string>;

  constructor(private readonly options: SingularityOptions = {}) {
    this.images = options.images ?? defaultImagesDir();
  }

  private apptainer(): Promise<string> {
    this.command ??= findApptainer(this.options.apptainer);
    return this.command;
  }

  get slurm(): boolean {
    return this.options.slurm ?? process.env.SLURM_JOB_ID !== undefined;
  }

  /** An operator's binds are fixed when it starts: params that name other files need a new one. */
  needsRestart(operator: OperatorInfo, before: Record<string, unknown>, after: Record<string, unknown>): boolean {
    return dataBinds(operator.spec, before).join('\n') !== dataBinds(operator.spec, after).join('\n');
  }

  catalog(): Promise<OperatorCatalog> {
    this.listing ??= this.list();
    return this.listing;
  }

  private async list(): Promise<OperatorCatalog> {
    const apptainer = await this.apptainer();
    const catalog: OperatorCatalog = { operators: [], problems: [] };
    let files: string[];
    try {
      files = readdirSync(this.images).filter((f) => f.endsWith('.sif')).sort();
    } catch {
      catalog.problems.push({ location: this.images, message: 'no such folder of SIF images (build them with `emflow build --sif`, or give --images DIR)' });
      return catalog;
    }
    const indexPath = join(this.images, INDEX);
    let index: Record<string, IndexEntry> = {};
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8')) as Record<string, IndexEntry>;
    } catch {
      // none yet, or unreadable: inspected anew
    }
    const fresh: Record<string, IndexEntry> = {};
    const byName = new Map<string, OperatorInfo[]>();
    for (const file of files) {
      const location = join(this.images, file);
      let entry: IndexEntry;
      try {
        const identity = fileIdentity(location);
        const known = Object.hasOwn(index, file) ? index[file] : undefined;
        entry = known?.identity === identity ? known : { identity, labels: labelsOf((await run(apptainer, ['inspect', '--labels', '--json', location], { maxBuffer: 16 << 20 })).stdout), digest: await sha256Of(location) };
      } catch (error) {
        const detail = `${(error as { stderr?: string }).stderr ?? (error as Error).message}`.trim().split('\n').at(-1);
        catalog.problems.push({ location, message: `not a readable SIF image: ${detail}` });
        continue;
      }
      fresh[file] = entry;
      const spec = specFromLabel(Object.hasOwn(entry.labels, 'emflow.operator') ? entry.labels['emflow.operator'] : undefined);
      if ('problem' in spec) {
        catalog.problems.push({ location, message: spec.problem });
        continue;
      }
      const info: OperatorInfo = { spec, identity: entry.digest, location, aliases: [file] };
      byName.set(spec.name, [...(byName.get(spec.name) ?? []), info]);
    }
    for (const [name, infos] of byName) {
      if (infos.length === 1) catalog.operators.push(infos[0]);
      else (catalog.conflicts ??= []).push({ name, locations: infos.map((i) => i.location) });
    }
    for (const conflict of catalog.conflicts ?? []) catalog.problems.push({ location: this.images, message: conflictMessage(conflict.name, conflict.locations) });
    try {
      if (JSON.stringify(fresh) !== JSON.stringify(index)) writeNewFile(indexPath, Buffer.from(JSON.stringify(fresh)), true);
    } catch {
      // a shared, read-only images folder: inspected again next time
    }
    return catalog;
  }

  async start({ node, operator, session, token, params }: StartRequest): Promise<OperatorProcess> {
    const apptainer = await this.apptainer();
    const files = dataBinds(operator.spec, params);
    // operators run as the engine's user: folders they write into that do not exist yet are made now
    prepareWriteFolders(files, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    // at a fixed place the image provides (a contained /dev/shm has no room for mount points of the host's)
    const binds = [`${session.dir}:${CONTAINER_SESSION_DIR}:ro`, `${join(session.dir, node)}:${CONTAINER_SESSION_DIR}/${node}:rw`, ...files];
    // as root: no capabilities inside (the container is root's, it needs none)
    const root = process.getuid?.() === 0;
    const limits = this.slurm ? [] : containerLimits(operator.spec, root);
    const command = [apptainer, 'exec', '--containall', '--cleanenv', '--no-home', '--net', '--network', 'none', ...(root ? ['--no-privs'] : []), ...limits, ...binds.flatMap((b) => ['--bind', b]), operator.location, ...OPERATOR_COMMAND];
    // the token travels in the environment, never on a command line that `ps` shows to every user
    const settings = { EMFLOW_SOCKET: `${CONTAINER_SESSION_DIR}/control.sock`, EMFLOW_SESSION_DIR: CONTAINER_SESSION_DIR, EMFLOW_TOKEN: token, EMFLOW_NODE: node };
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(settings)) {
      env[`APPTAINERENV_${key}`] = value;
      env[`SINGULARITYENV_${key}`] = value;
    }
    if (!this.slurm) return spawnOperatorProcess(command[0], command.slice(1), env);
    // on this host, where the slot files are: in a job of several nodes, srun would pick any of them
    const here = process.env.SLURMD_NODENAME ? [`--nodelist=${process.env.SLURMD_NODENAME}`] : [];
    const step = ['--exact', '--overlap', '--nodes=1', '--ntasks=1', ...here, ...stepResources({ ...operator.spec, resources: { cpus: 1, ...operator.spec.resources } }), `--job-name=emflow-${node}`, '--quiet', '--kill-on-bad-exit=1'];
    // srun passes SIGTERM on to the step; killed outright, it would leave the step's tasks running
    return spawnOperatorProcess('srun', [...step, ...command], env, { stopSignal: 'SIGTERM', stopGraceMs: 3000 });
  }
}
