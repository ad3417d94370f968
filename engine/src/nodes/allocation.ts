// The hosts of the Slurm allocation this engine runs in: names (the engine's first), addresses, CPUs and GPUs.
// Parsing is pure; `readAllocation` asks scontrol.
import { slurm } from '../hpc/slurm.js';
import { scontrolFields } from '../hpc/slurm-text.js';
import type { PlacementHost } from './placement.js';

export interface AllocationHost extends PlacementHost {
  /** where its agent and the engine reach each other (Slurm's NodeAddr) */
  address: string;
}

/** SLURM_JOB_CPUS_PER_NODE, e.g. "2(x3),1": the job's CPUs on each of its nodes, in node order. */
export function cpusPerNode(text: string): number[] {
  const counts: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!match) throw new Error(`SLURM_JOB_CPUS_PER_NODE "${text}" is not a list such as 2(x3),1`);
    for (let i = 0; i < Number(match[2] ?? 1); i++) counts.push(Number(match[1]));
  }
  return counts;
}

/** GPUs in a node's Gres field, e.g. "gpu:a100:4(S:0-1),gpu:2" → 6; "(null)" → 0. */
export function gpusOf(gres: string | undefined): number {
  let gpus = 0;
  for (const match of (gres ?? '').matchAll(/(?:^|,)gpu(?::[^:,(]+)?:(\d+)/g)) gpus += Number(match[1]);
  return gpus;
}

/** `scontrol show node --oneliner` output: one record of Key=Value fields per node. */
export function parseNodes(text: string): Map<string, Record<string, string>> {
  const nodes = new Map<string, Record<string, string>>();
  for (const line of text.split('\n')) {
    const fields = scontrolFields(line);
    if (fields.NodeName) nodes.set(fields.NodeName, fields);
  }
  return nodes;
}

/**
 * The hosts of the allocation, the engine's (`engineHost`) first, then the others in node-list order, with the
 * allocation's CPUs on each.
 */
export function allocationHosts(names: readonly string[], cpus: readonly number[], nodes: ReadonlyMap<string, Record<string, string>>, engineHost: string): AllocationHost[] {
  if (!names.includes(engineHost)) throw new Error(`this engine runs on ${engineHost}, which is not one of the allocation's nodes (${names.join(', ')})`);
  const hosts = names.map((name, i) => {
    const fields = nodes.get(name);
    if (!fields) throw new Error(`scontrol does not know node ${name} of the allocation`);
    return { name, address: fields.NodeAddr || name, cpus: cpus[i] ?? Number(fields.CPUTot ?? 1), gpus: gpusOf(fields.Gres) };
  });
  return [...hosts.filter((h) => h.name === engineHost), ...hosts.filter((h) => h.name !== engineHost)];
}

/** The allocation this process runs in, from Slurm's job environment, or undefined outside a job of several nodes. */
export async function readAllocation(env: NodeJS.ProcessEnv = process.env): Promise<AllocationHost[] | undefined> {
  if (!env.SLURM_JOB_ID || Number(env.SLURM_JOB_NUM_NODES ?? env.SLURM_NNODES ?? 1) < 2) return undefined;
  const list = env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  if (!list || !env.SLURMD_NODENAME) throw new Error('a job of several nodes without SLURM_JOB_NODELIST or SLURMD_NODENAME: run emflow on a node of the allocation (in the batch script, or with srun)');
  const names = await slurm('scontrol', ['show', 'hostnames', list]);
  if (names.code !== 0) throw new Error(`scontrol show hostnames ${list} failed: ${names.stderr.trim()}`);
  const shown = await slurm('scontrol', ['show', 'node', '--oneliner', list]);
  if (shown.code !== 0) throw new Error(`scontrol show node ${list} failed: ${shown.stderr.trim()}`);
  const hostNames = names.stdout.split('\n').filter(Boolean);
  const cpus = env.SLURM_JOB_CPUS_PER_NODE ? cpusPerNode(env.SLURM_JOB_CPUS_PER_NODE) : [];
  return allocationHosts(hostNames, cpus, parseNodes(shown.stdout), env.SLURMD_NODENAME);
}
