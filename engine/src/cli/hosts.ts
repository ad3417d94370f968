// `emflow run` in a Slurm job of several nodes: place the pipeline's nodes over the job's hosts (--plan prints the
// placement), start an agent on each other host, and run operators through them.
import type { ResolvedPipeline } from '../validate/pipeline.js';
import type { Runtime } from '../runtime/runtime.js';
import { UsageError } from './exit.js';

export interface SpreadOptions {
  plan?: boolean;
  spread?: boolean;
  /** what the agents start operators with */
  runtimeName: string;
  operatorDirs: string[];
  images?: string;
  /** a host's agent was signalled: the job is being stopped */
  onSignal?: (host: string, signal: string) => void;
}

/**
 * Outside a job of several nodes: undefined (a single host, as always). Inside one: the runtime that starts each
 * worker on its host, with the hub to close after the session; or 'planned' once --plan has printed the placement.
 */
export async function spreadOver(pipeline: ResolvedPipeline, local: Runtime, options: SpreadOptions): Promise<{ runtime: Runtime; close: () => Promise<void> } | 'planned' | undefined> {
  const { readAllocation } = await import('../nodes/allocation.js');
  const hosts = await readAllocation();
  if (!hosts) {
    if (options.plan || options.spread) throw new UsageError(`--${options.plan ? 'plan' : 'spread'} places a run over the hosts of a Slurm job of several nodes: use it inside one (emflow submit --nodes N)`);
    return undefined;
  }
  if (options.runtimeName === 'docker') throw new UsageError('a run over several hosts starts its operators with the process or singularity runtime, not docker (each host would need its own daemon and images)');
  const { awayPorts, describePlacement, placeNodes, placementInput } = await import('../nodes/placement.js');
  const { nodes, edges, pins } = placementInput(pipeline);
  const placement = placeNodes(nodes, edges, hosts, { pins, spread: options.spread });
  const lines = describePlacement(placement, nodes, hosts);
  if (options.plan) {
    process.stdout.write(`placement over ${hosts.length} hosts:\n${lines.map((l) => `  ${l}\n`).join('')}`);
    return 'planned';
  }
  process.stderr.write(`emflow: ${pipeline.order.length} nodes over ${hosts.length} hosts:\n${lines.map((l) => `  ${l}\n`).join('')}`);
  const { AgentHub, HostsRuntime } = await import('../nodes/hub.js');
  const away = awayPorts(pipeline.document.edges, placement, hosts[0].name);
  const hub = await AgentHub.open({ hosts, placement, away, runtime: { name: options.runtimeName, operatorDirs: options.operatorDirs, images: options.images }, onSignal: options.onSignal });
  return { runtime: new HostsRuntime(local, hub), close: () => hub.close() };
}
