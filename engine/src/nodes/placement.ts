// Which host of a Slurm allocation runs each worker of a pipeline (a pure function). Connected operators stay on one
// host while it has CPUs and GPUs for them: a consumer there reads its producer's frames in place (the engine's host
// gets their headers, to check and route them); the replicas of a node go to different hosts; a node can be pinned
// to a host; a pipeline that does not fit is refused before anything starts, with what it asks and what each host
// has left.
import { operatorCpus } from '../hpc/script.js';
import { nodeOfKey } from '../session/replicas.js';
import { EnvironmentError } from '../runtime/runtime.js';
import type { ResolvedPipeline } from '../validate/pipeline.js';

export interface PlacementHost {
  name: string;
  cpus: number;
  gpus: number;
}

export interface PlacementNode {
  id: string;
  operator: string;
  /** per replica: whole CPUs (at least 1) and GPUs */
  cpus: number;
  gpus: number;
  /** replicas started with the run (the node's replicas.min, else 1) */
  replicas: number;
  /** replicas a run may add while it scales up (replicas.max − replicas.min) */
  extra?: number;
}

export interface PlacementOptions {
  /** node id → index of a host in the allocation's order */
  pins?: ReadonlyMap<string, number>;
  /** one node per host in turn, whatever they ask (to test transfers between hosts) */
  spread?: boolean;
}

/** node id → the host of each of its replicas (replica 0 first) */
export type Placement = Map<string, string[]>;

export class PlacementError extends EnvironmentError {
  override name = 'PlacementError';
}

/**
 * Place `nodes` (in run order, sources first) over `hosts` (the engine's first). `edges` are [from, to] node ids.
 * Throws a PlacementError naming the node that does not fit.
 */
export function placeNodes(nodes: readonly PlacementNode[], edges: readonly (readonly [string, string])[], hosts: readonly PlacementHost[], options: PlacementOptions = {}): Placement {
  if (!hosts.length) throw new PlacementError('the allocation has no hosts');
  const free = new Map(hosts.map((h) => [h.name, { cpus: h.cpus, gpus: h.gpus }]));
  const placement: Placement = new Map();
  const fits = (host: string, node: PlacementNode) => free.get(host)!.cpus >= node.cpus && free.get(host)!.gpus >= node.gpus;
  const take = (host: string, node: PlacementNode) => {
    const left = free.get(host)!;
    left.cpus -= node.cpus;
    left.gpus -= node.gpus;
    placement.set(node.id, [...(placement.get(node.id) ?? []), host]);
  };
  const refuse = (node: PlacementNode, why: string) => {
    const left = hosts.map((h) => `${h.name} ${free.get(h.name)!.cpus} of ${h.cpus} CPUs${h.gpus ? `, ${free.get(h.name)!.gpus} of ${h.gpus} GPUs` : ''}`).join('; ');
    const asks = `${node.replicas > 1 ? `${node.replicas} replicas × ` : ''}${node.cpus} CPU${node.cpus === 1 ? '' : 's'}${node.gpus ? ` and ${node.gpus} GPU${node.gpus === 1 ? '' : 's'}` : ''}`;
    return new PlacementError(`node "${node.id}" (${node.operator}) asks ${asks}: ${why} (free now: ${left})`);
  };

  // pinned nodes first: they have no choice
  const pins = options.pins ?? new Map<string, number>();
  for (const [id, index] of pins) {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new PlacementError(`placement.hosts pins node "${id}", which the pipeline does not have`);
    const host = hosts[index];
    if (!host) throw new PlacementError(`placement.hosts pins node "${id}" to host ${index}, but the allocation has ${hosts.length} host${hosts.length === 1 ? '' : 's'} (0 to ${hosts.length - 1})`);
    for (let r = 0; r < node.replicas; r++) {
      if (!fits(host.name, node)) throw refuse(node, `it is pinned to ${host.name}, which has not enough left`);
      take(host.name, node);
    }
  }

  nodes.forEach((node, i) => {
    if (placement.has(node.id)) return;
    if (options.spread) {
      for (let r = 0; r < node.replicas + (node.extra ?? 0); r++) placement.set(node.id, [...(placement.get(node.id) ?? []), hosts[(i + r) % hosts.length].name]);
      return;
    }
    // hosts of the node's neighbours already placed, most edges first; then the host with most CPUs left
    const neighbours = new Map<string, number>();
    for (const [from, to] of edges) {
      const other = to === node.id ? from : from === node.id ? to : undefined;
      for (const host of (other !== undefined && placement.get(other)) || []) neighbours.set(host, (neighbours.get(host) ?? 0) + 1);
    }
    for (let r = 0; r < node.replicas; r++) {
      const used = placement.get(node.id) ?? [];
      const ranked = hosts
        .map((h, order) => ({ name: h.name, order }))
        .filter(({ name }) => fits(name, node))
        .sort(
          (a, b) =>
            // a replica avoids the hosts its node's other replicas are on
            Number(used.includes(a.name)) - Number(used.includes(b.name)) ||
            (neighbours.get(b.name) ?? 0) - (neighbours.get(a.name) ?? 0) ||
            free.get(b.name)!.cpus - free.get(a.name)!.cpus ||
            a.order - b.order,
        );
      if (!ranked.length) throw refuse(node, 'no host of the allocation has that left');
      take(ranked[0].name, node);
    }
  });

  // the replicas a run may add, once every node has what it starts with: on a host with room, one its node is not on
  // first (a pinned node's stay on its host), else beside the node's first replica (sharing its CPUs); never a
  // reason to refuse the pipeline
  if (!options.spread) {
    for (const node of nodes) {
      const pinned = pins.has(node.id) ? hosts[pins.get(node.id)!].name : undefined;
      for (let r = 0; r < (node.extra ?? 0); r++) {
        const used = placement.get(node.id)!;
        const room = hosts.filter((h) => (pinned ?? h.name) === h.name && fits(h.name, node)).sort((a, b) => Number(used.includes(a.name)) - Number(used.includes(b.name)) || free.get(b.name)!.cpus - free.get(a.name)!.cpus);
        if (room.length) take(room[0].name, node);
        else placement.set(node.id, [...used, used[0]]);
      }
    }
  }
  return placement;
}

/** The placement as `--plan` prints it: one line per host, its nodes and what they take of it. */
export function describePlacement(placement: Placement, nodes: readonly PlacementNode[], hosts: readonly PlacementHost[]): string[] {
  return hosts.map((host, index) => {
    // a replica the run adds only while it scales up is marked with a +, and its CPUs are not counted
    const here = nodes.flatMap(({ id, replicas: starting, cpus }) => {
      const replicas = placement.get(id) ?? [];
      return replicas.flatMap((h, r) => (h === host.name ? [{ label: replicas.length > 1 ? `${id}[${r}]${r >= starting ? '+' : ''}` : id, cpus: r < starting ? cpus : 0 }] : []));
    });
    const cpus = here.reduce((n, replica) => n + replica.cpus, 0);
    const role = index === 0 ? ' (engine)' : '';
    return `${host.name}${role}: ${here.length ? here.map((r) => r.label).join(', ') : '-'}  [${cpus} of ${host.cpus} CPUs]`;
  });
}

/** What placement needs of a valid pipeline: its nodes in run order with what they ask, its edges, its pins. */
export function placementInput(pipeline: ResolvedPipeline): { nodes: PlacementNode[]; edges: [string, string][]; pins: Map<string, number> } {
  const byId = new Map(pipeline.document.nodes.map((n) => [n.id, n]));
  const nodes = pipeline.order.map((id) => {
    const spec = pipeline.specs.get(id);
    const { min = 1, max = min } = byId.get(id)!.replicas ?? {};
    return { id, operator: byId.get(id)!.operator, cpus: operatorCpus(spec), gpus: spec?.resources?.gpu ?? 0, replicas: min, extra: Math.max(0, max - min) };
  });
  const edges = pipeline.document.edges.map((e): [string, string] => [e.from.node, e.to.node]);
  return { nodes, edges, pins: new Map(Object.entries(pipeline.document.placement?.hosts ?? {})) };
}

/**
 * The host of a worker key (a node, or one of its replicas `node.rN`): where placement put it, the replicas a run
 * adds while it scales up included; any other goes to the host of the node's first replica, sharing its CPUs.
 */
export function hostOfKey(key: string, placement: Placement, engineHost: string): string {
  const placed = placement.get(nodeOfKey(key));
  const replica = Number(/\.r(\d+)$/.exec(key)?.[1] ?? 0);
  return placed?.[replica] ?? placed?.[0] ?? engineHost;
}

/**
 * The output ports whose frames the engine's host never needs whole, by node: each feeds consumers, none of them
 * there. The engine gets such a frame without an array's values (it checks and routes frames by their header), and
 * consumers on other hosts fetch it from the producer's host.
 */
export function awayPorts(edges: readonly { from: { node: string; port: string }; to: { node: string } }[], placement: Placement, engineHost: string): Map<string, Set<string>> {
  const engineNeeds = new Map<string, Map<string, boolean>>();
  for (const { from, to } of edges) {
    const ports = engineNeeds.get(from.node) ?? new Map<string, boolean>();
    engineNeeds.set(from.node, ports);
    const there = (placement.get(to.node) ?? [engineHost]).includes(engineHost);
    ports.set(from.port, (ports.get(from.port) ?? false) || there);
  }
  return new Map([...engineNeeds].map(([node, ports]) => [node, new Set([...ports].filter(([, needed]) => !needed).map(([port]) => port))]));
}
