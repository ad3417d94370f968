// Multi-node runs, the pure parts: which host runs each worker (placement.ts) and the hosts of a Slurm allocation
// read from its environment and `scontrol show node --oneliner` (allocation.ts). Every expected value is worked
// out by hand from the rules: connected nodes share a host while it has room, then the host with most free CPUs;
// replicas spread; GPUs and pins are respected; what does not fit is refused with what is asked and what is left.
import { describe, expect, it } from 'vitest';
import type { OperatorSpec } from '@emflow/sdk';
import { allocationHosts, cpusPerNode, gpusOf, parseNodes } from '../src/nodes/allocation.js';
import { awayPorts, describePlacement, placeNodes, placementInput, PlacementError, type Placement, type PlacementHost, type PlacementNode } from '../src/nodes/placement.js';
import { EnvironmentError } from '../src/runtime/runtime.js';
import { checkPipeline, type ResolvedPipeline } from '../src/validate/pipeline.js';
import { gaussianBlur, lookup, scale } from './specs.js';

const host = (name: string, cpus: number, gpus = 0): PlacementHost => ({ name, cpus, gpus });
const node = (id: string, cpus = 1, more: Partial<PlacementNode> = {}): PlacementNode => ({ id, operator: 'op', cpus, gpus: 0, replicas: 1, ...more });
const chain = (...ids: string[]): [string, string][] => ids.slice(1).map((id, i) => [ids[i], id]);
const entries = (placement: Placement) => [...placement.entries()];

/** The PlacementError `run` throws (fails the test when it throws nothing or something else). */
function placementError(run: () => unknown): PlacementError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PlacementError);
    return error as PlacementError;
  }
  throw new Error('expected a PlacementError, nothing was thrown');
}

describe('placeNodes: connected nodes, free CPUs', () => {
  it('keeps a chain on the host of its upstream node while it has CPUs, then takes the host with most free CPUs', () => {
    const hosts = [host('h0', 3), host('h1', 1), host('h2', 2)];
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => node(id));
    const placement = placeNodes(nodes, chain('a', 'b', 'c', 'd', 'e', 'f'), hosts);
    // a: h0 has most (3); b, c follow it there (h0 full); d: h2 (2 free) before h1 (1); e follows d; f: h1 is left
    expect(entries(placement)).toEqual([
      ['a', ['h0']],
      ['b', ['h0']],
      ['c', ['h0']],
      ['d', ['h2']],
      ['e', ['h2']],
      ['f', ['h1']],
    ]);
  });

  it('a source starts on the host with most free CPUs, the first host on a tie', () => {
    expect(entries(placeNodes([node('a')], [], [host('h0', 2), host('h1', 8), host('h2', 8)]))).toEqual([['a', ['h1']]]);
    expect(entries(placeNodes([node('a')], [], [host('h0', 4), host('h1', 4)]))).toEqual([['a', ['h0']]]);
  });

  it('nodes without edges balance over the hosts by free CPUs', () => {
    const placement = placeNodes([node('a'), node('b'), node('c'), node('d')], [], [host('h0', 2), host('h1', 2)]);
    expect(entries(placement)).toEqual([
      ['a', ['h0']],
      ['b', ['h1']],
      ['c', ['h0']],
      ['d', ['h1']],
    ]);
  });

  it('a node fed by several goes to the host most of its edges come from, even with fewer free CPUs', () => {
    const hosts = [host('h0', 4), host('h1', 3)];
    const nodes = [node('x'), node('y'), node('z'), node('m')];
    const edges: [string, string][] = [
      ['x', 'm'],
      ['y', 'm'],
      ['z', 'm'],
    ];
    const placement = placeNodes(nodes, edges, hosts, { pins: new Map([['y', 1], ['z', 1]]) });
    // y, z pinned to h1 (1 CPU left); x: h0 (4 free); m: 2 edges from h1, 1 from h0 (3 free) → h1
    expect(placement.get('x')).toEqual(['h0']);
    expect(placement.get('m')).toEqual(['h1']);
  });

  it('a node that asks several CPUs skips a neighbour host without that many', () => {
    const placement = placeNodes([node('a'), node('b', 2)], [['a', 'b']], [host('h0', 2), host('h1', 2)]);
    expect(entries(placement)).toEqual([
      ['a', ['h0']],
      ['b', ['h1']],
    ]);
  });
});

describe('placeNodes: replicas', () => {
  it('puts the replicas of one node on different hosts, the first beside its upstream node', () => {
    const hosts = [host('h0', 4), host('h1', 4), host('h2', 4)];
    const nodes = [node('src'), node('w', 1, { replicas: 3 }), node('sink')];
    const placement = placeNodes(nodes, chain('src', 'w', 'sink'), hosts);
    // sink: one edge from each host; h1 and h2 have 3 free, h0 2 → h1 (first of the tie)
    expect(entries(placement)).toEqual([
      ['src', ['h0']],
      ['w', ['h0', 'h1', 'h2']],
      ['sink', ['h1']],
    ]);
  });

  it('with more replicas than hosts, a host gets a second replica once every host has one', () => {
    const placement = placeNodes([node('src'), node('w', 1, { replicas: 3 })], [['src', 'w']], [host('h0', 4), host('h1', 4)]);
    expect(placement.get('w')).toEqual(['h0', 'h1', 'h0']);
  });

  it('a replica goes back to a host its node is on when no other host has room', () => {
    const placement = placeNodes([node('w', 1, { replicas: 3 })], [], [host('h0', 2), host('h1', 1)]);
    expect(placement.get('w')).toEqual(['h0', 'h1', 'h0']);
  });
});

describe('placeNodes: replicas added while scaling up', () => {
  it('go to hosts with room their node is not on yet, the one with most CPUs left first, after every node has its start', () => {
    // the chain fills a (3 of 3); slow's extras: c (2 free, more than b's 1), then b (1 free, as c now, but slow is
    // not on b yet)
    const nodes = [node('src'), node('blur'), node('slow', 1, { extra: 2 })];
    const placement = placeNodes(nodes, chain('src', 'blur', 'slow'), [host('a', 3), host('b', 1), host('c', 2)]);
    expect(entries(placement)).toEqual([
      ['src', ['a']],
      ['blur', ['a']],
      ['slow', ['a', 'c', 'b']],
    ]);
  });

  it('never refuse a pipeline: with no room left, they join their node\'s first replica', () => {
    const nodes = [node('src'), node('slow', 1, { extra: 3 })];
    const placement = placeNodes(nodes, chain('src', 'slow'), [host('a', 1), host('b', 1)]);
    expect(entries(placement)).toEqual([
      ['src', ['a']],
      ['slow', ['b', 'b', 'b', 'b']],
    ]);
  });

  it('of a pinned node stay on its host, with room or without', () => {
    const nodes = [node('src'), node('slow', 1, { extra: 2 })];
    const placement = placeNodes(nodes, [], [host('a', 1), host('b', 2), host('c', 4)], { pins: new Map([['slow', 1]]) });
    // slow's first replica takes one of b's 2 CPUs; its extras: the last one, then beside it (c has 4 free)
    expect(entries(placement)).toEqual([
      ['slow', ['b', 'b', 'b']],
      ['src', ['c']],
    ]);
  });

  it('with --spread, take the hosts after their node like starting replicas', () => {
    const placement = placeNodes([node('src'), node('slow', 1, { replicas: 2, extra: 1 })], [], [host('a', 1), host('b', 1), host('c', 1)], { spread: true });
    expect(entries(placement)).toEqual([
      ['src', ['a']],
      ['slow', ['b', 'c', 'a']],
    ]);
  });
});

describe('placeNodes: GPUs', () => {
  it('a node asking a GPU goes to a host with a GPU left, even when another has more CPUs', () => {
    const hosts = [host('h0', 4), host('h1', 2, 1)];
    const nodes = [node('src'), node('det', 1, { operator: 'detector', gpus: 1 }), node('post'), node('post2')];
    const placement = placeNodes(nodes, chain('src', 'det', 'post', 'post2'), hosts);
    // post follows det to h1 (its last CPU); post2's neighbour host is then full → h0
    expect(entries(placement)).toEqual([
      ['src', ['h0']],
      ['det', ['h1']],
      ['post', ['h1']],
      ['post2', ['h0']],
    ]);
  });

  it('refuses a second GPU node when the only GPU is taken, naming both CPU and GPU figures', () => {
    const hosts = [host('h0', 4), host('h1', 2, 1)];
    const nodes = [node('g1', 1, { operator: 'detector', gpus: 1 }), node('g2', 2, { operator: 'detector', gpus: 1 })];
    const error = placementError(() => placeNodes(nodes, [], hosts));
    expect(error.message).toBe('node "g2" (detector) asks 2 CPUs and 1 GPU: no host of the allocation has that left (free now: h0 4 of 4 CPUs; h1 1 of 2 CPUs, 0 of 1 GPUs)');
  });

  it('places GPU replicas on the hosts that have GPUs', () => {
    const hosts = [host('h0', 8), host('h1', 4, 2), host('h2', 4, 1)];
    const placement = placeNodes([node('src'), node('det', 1, { gpus: 1, replicas: 3 })], [['src', 'det']], hosts);
    // r0: h1 (4 free) before h2 (4 free) by order; r1: h2 (not used yet); r2: h1 has the GPU left
    expect(placement.get('src')).toEqual(['h0']);
    expect(placement.get('det')).toEqual(['h1', 'h2', 'h1']);
  });
});

describe('placeNodes: pins', () => {
  it('places pinned nodes first, on the host index they give', () => {
    const placement = placeNodes([node('a'), node('b', 2)], [], [host('h0', 2), host('h1', 2)], { pins: new Map([['b', 0]]) });
    // unpinned, a would take h0 first; b pinned to h0 goes first and leaves a only h1
    expect(entries(placement)).toEqual([
      ['b', ['h0']],
      ['a', ['h1']],
    ]);
  });

  it('puts every replica of a pinned node on its host', () => {
    const placement = placeNodes([node('src'), node('w', 1, { replicas: 2 })], [['src', 'w']], [host('h0', 4), host('h1', 4)], { pins: new Map([['w', 1]]) });
    expect(placement.get('w')).toEqual(['h1', 'h1']);
    // src is then drawn to its neighbour's host
    expect(placement.get('src')).toEqual(['h1']);
  });

  it('refuses a pin to a node the pipeline does not have', () => {
    const error = placementError(() => placeNodes([node('a')], [], [host('h0', 2)], { pins: new Map([['ghost', 0]]) }));
    expect(error.message).toBe('placement.hosts pins node "ghost", which the pipeline does not have');
  });

  it('refuses a pin to a host index out of range', () => {
    const two = [host('h0', 2), host('h1', 2)];
    expect(placementError(() => placeNodes([node('a')], [], two, { pins: new Map([['a', 2]]) })).message).toBe(
      'placement.hosts pins node "a" to host 2, but the allocation has 2 hosts (0 to 1)',
    );
    expect(placementError(() => placeNodes([node('a')], [], [host('h0', 2)], { pins: new Map([['a', 1]]) })).message).toBe(
      'placement.hosts pins node "a" to host 1, but the allocation has 1 host (0 to 0)',
    );
    expect(placementError(() => placeNodes([node('a')], [], two, { pins: new Map([['a', -1]]) })).message).toBe(
      'placement.hosts pins node "a" to host -1, but the allocation has 2 hosts (0 to 1)',
    );
  });

  it('refuses a pinned node its host has not room for', () => {
    const error = placementError(() => placeNodes([node('a'), node('b', 3, { operator: 'scale' })], [], [host('h0', 2), host('h1', 2)], { pins: new Map([['b', 1]]) }));
    expect(error.message).toBe('node "b" (scale) asks 3 CPUs: it is pinned to h1, which has not enough left (free now: h0 2 of 2 CPUs; h1 2 of 2 CPUs)');
  });

  it('refuses the second replica of a pinned node when its host is full after the first', () => {
    const error = placementError(() => placeNodes([node('w', 2, { replicas: 2 })], [], [host('h0', 3), host('h1', 8)], { pins: new Map([['w', 0]]) }));
    expect(error.message).toBe('node "w" (op) asks 2 replicas × 2 CPUs: it is pinned to h0, which has not enough left (free now: h0 1 of 3 CPUs; h1 8 of 8 CPUs)');
  });
});

describe('placeNodes: what does not fit', () => {
  it('names the node, its operator, what it asks and the free CPUs of each host', () => {
    const error = placementError(() => placeNodes([node('big', 4, { operator: 'gaussian-blur' })], [], [host('h0', 2), host('h1', 1)]));
    expect(error.message).toBe('node "big" (gaussian-blur) asks 4 CPUs: no host of the allocation has that left (free now: h0 2 of 2 CPUs; h1 1 of 1 CPUs)');
    expect(error.name).toBe('PlacementError');
    expect(error).toBeInstanceOf(EnvironmentError);
  });

  it('shows what the nodes placed before it took', () => {
    const error = placementError(() => placeNodes([node('a', 2), node('b', 1), node('c', 2, { operator: 'stats' })], chain('a', 'b', 'c'), [host('h0', 3), host('h1', 1)]));
    expect(error.message).toBe('node "c" (stats) asks 2 CPUs: no host of the allocation has that left (free now: h0 0 of 3 CPUs; h1 1 of 1 CPUs)');
  });

  it('counts replicas in what a node asks', () => {
    const error = placementError(() => placeNodes([node('w', 2, { operator: 'scale', replicas: 3 })], [], [host('h0', 2), host('h1', 2)]));
    expect(error.message).toBe('node "w" (scale) asks 3 replicas × 2 CPUs: no host of the allocation has that left (free now: h0 0 of 2 CPUs; h1 0 of 2 CPUs)');
  });

  it('says "1 CPU" in the singular', () => {
    const error = placementError(() => placeNodes([node('a', 2), node('b', 1, { operator: 'stats' })], [], [host('h0', 2)]));
    expect(error.message).toBe('node "b" (stats) asks 1 CPU: no host of the allocation has that left (free now: h0 0 of 2 CPUs)');
  });

  it('refuses an allocation without hosts', () => {
    expect(placementError(() => placeNodes([node('a')], [], [])).message).toBe('the allocation has no hosts');
  });
});

describe('placeNodes: spread', () => {
  it('puts node i on host i mod n, whatever the nodes ask', () => {
    const nodes = [node('a'), node('b', 64), node('c', 1, { gpus: 4 }), node('d'), node('e')];
    const placement = placeNodes(nodes, chain('a', 'b', 'c', 'd', 'e'), [host('h0', 1), host('h1', 1)], { spread: true });
    expect(entries(placement)).toEqual([
      ['a', ['h0']],
      ['b', ['h1']],
      ['c', ['h0']],
      ['d', ['h1']],
      ['e', ['h0']],
    ]);
  });

  it('gives replicas the hosts after their node', () => {
    const placement = placeNodes([node('a'), node('w', 1, { replicas: 3 })], [['a', 'w']], [host('h0', 4), host('h1', 4), host('h2', 4)], { spread: true });
    expect(placement.get('a')).toEqual(['h0']);
    expect(placement.get('w')).toEqual(['h1', 'h2', 'h0']);
  });

  it('still honours pins', () => {
    const placement = placeNodes([node('a'), node('b'), node('c')], [], [host('h0', 4), host('h1', 4), host('h2', 4)], { spread: true, pins: new Map([['a', 2]]) });
    expect(entries(placement)).toEqual([
      ['a', ['h2']],
      ['b', ['h1']],
      ['c', ['h2']],
    ]);
  });
});

describe('placeNodes: node ids that are Object.prototype names', () => {
  it('places __proto__, constructor and toString like any other id', () => {
    const nodes = [node('__proto__'), node('constructor'), node('toString')];
    const edges = chain('__proto__', 'constructor', 'toString');
    const placement = placeNodes(nodes, edges, [host('h0', 2), host('h1', 2)]);
    expect(entries(placement)).toEqual([
      ['__proto__', ['h0']],
      ['constructor', ['h0']],
      ['toString', ['h1']],
    ]);
    expect(describePlacement(placement, nodes, [host('h0', 2), host('h1', 2)])).toEqual(['h0 (engine): __proto__, constructor  [2 of 2 CPUs]', 'h1: toString  [1 of 2 CPUs]']);
  });

  it('pins them by id', () => {
    const nodes = [node('__proto__'), node('constructor'), node('toString')];
    const edges = chain('__proto__', 'constructor', 'toString');
    const placement = placeNodes(nodes, edges, [host('h0', 2), host('h1', 2)], { pins: new Map([['constructor', 1]]) });
    // constructor on h1; __proto__ follows it there (its last CPU); toString's neighbour host is full → h0
    expect(entries(placement)).toEqual([
      ['constructor', ['h1']],
      ['__proto__', ['h1']],
      ['toString', ['h0']],
    ]);
  });

  it('refuses a pin to a missing __proto__ node and names a __proto__ node that does not fit', () => {
    expect(placementError(() => placeNodes([node('a')], [], [host('h0', 1)], { pins: new Map([['__proto__', 0]]) })).message).toBe(
      'placement.hosts pins node "__proto__", which the pipeline does not have',
    );
    expect(placementError(() => placeNodes([node('__proto__', 2)], [], [host('h0', 1)])).message).toBe(
      'node "__proto__" (op) asks 2 CPUs: no host of the allocation has that left (free now: h0 1 of 1 CPUs)',
    );
  });
});

describe('describePlacement', () => {
  it('prints one line per host: the engine host marked, replicas as id[r], the CPUs they take', () => {
    const hosts = [host('h0', 4), host('h1', 4), host('h2', 2)];
    const nodes = [node('src'), node('w', 1, { replicas: 2 }), node('heavy', 2)];
    const placement = placeNodes(nodes, chain('src', 'w', 'heavy'), hosts);
    expect(entries(placement)).toEqual([
      ['src', ['h0']],
      ['w', ['h0', 'h1']],
      ['heavy', ['h1']],
    ]);
    expect(describePlacement(placement, nodes, hosts)).toEqual(['h0 (engine): src, w[0]  [2 of 4 CPUs]', 'h1: w[1], heavy  [3 of 4 CPUs]', 'h2: -  [0 of 2 CPUs]']);
  });

  it('describes a placement given as it is, several replicas on one host included', () => {
    const nodes = [node('a', 2), node('r', 3, { replicas: 3 })];
    const placement: Placement = new Map([
      ['a', ['n2']],
      ['r', ['n2', 'n1', 'n2']],
    ]);
    expect(describePlacement(placement, nodes, [host('n1', 8), host('n2', 16)])).toEqual(['n1 (engine): r[1]  [3 of 8 CPUs]', 'n2: a, r[0], r[2]  [8 of 16 CPUs]']);
  });
});

describe('placementInput', () => {
  const heavy: OperatorSpec = { ...gaussianBlur, name: 'heavy', resources: { cpus: 2.5, gpu: 1 } };
  const light: OperatorSpec = { ...scale, name: 'light', resources: { cpus: 0.5 } };
  const specs = (name: string) => (name === 'heavy' ? heavy : name === 'light' ? light : lookup(name));

  function resolved(doc: unknown): ResolvedPipeline {
    const { problems, pipeline } = checkPipeline(doc, specs);
    expect(problems).toEqual([]);
    return pipeline!;
  }

  const edge = (from: string, to: string) => ({ from: { node: from, port: 'image' }, to: { node: to, port: 'image' } });

  it('gives the nodes in run order with their CPUs, GPUs and starting replicas, the edges and the pins', () => {
    const pipeline = resolved({
      emflow: 1,
      // listed downstream first: the nodes come out in run order
      nodes: [
        { id: 'st', operator: 'stats', params: {} },
        { id: 'sc', operator: 'light', params: { a: 1, b: 0 }, replicas: { min: 2, max: 4 } },
        { id: 'blur', operator: 'heavy', params: { sigma: 1 } },
        { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 8, height: 8 } },
      ],
      edges: [edge('blur', 'sc'), edge('src', 'blur'), edge('sc', 'st')],
      placement: { hosts: { blur: 1, st: 0 } },
    });
    const input = placementInput(pipeline);
    expect(input.nodes).toEqual([
      { id: 'src', operator: 'synthetic', cpus: 1, gpus: 0, replicas: 1, extra: 0 },
      { id: 'blur', operator: 'heavy', cpus: 3, gpus: 1, replicas: 1, extra: 0 },
      { id: 'sc', operator: 'light', cpus: 1, gpus: 0, replicas: 2, extra: 2 },
      { id: 'st', operator: 'stats', cpus: 1, gpus: 0, replicas: 1, extra: 0 },
    ]);
    expect(input.edges).toEqual([
      ['blur', 'sc'],
      ['src', 'blur'],
      ['sc', 'st'],
    ]);
    expect([...input.pins]).toEqual([
      ['blur', 1],
      ['st', 0],
    ]);

    // and what placeNodes makes of it on an engine host without GPU and a GPU host
    const hosts = [host('e', 4), host('g', 4, 1)];
    const placement = placeNodes(input.nodes, input.edges, hosts, { pins: input.pins });
    // blur (3 CPUs, the GPU) and st pinned; src beside blur on g (1 left); sc: r0 on g is full → e, r1 → e again;
    // the two sc may add: the last CPU of e, then (no host has room) beside sc's first replica
    expect(entries(placement)).toEqual([
      ['blur', ['g']],
      ['st', ['e']],
      ['src', ['g']],
      ['sc', ['e', 'e', 'e', 'e']],
    ]);
    // each host's nodes in run order; the replicas added while scaling up marked, their CPUs not counted
    expect(describePlacement(placement, input.nodes, hosts)).toEqual(['e (engine): sc[0], sc[1], sc[2]+, sc[3]+, st  [3 of 4 CPUs]', 'g: src, blur  [4 of 4 CPUs]']);
  });

  it('has no pins without a placement', () => {
    const pipeline = resolved({ emflow: 1, nodes: [{ id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 8, height: 8 } }], edges: [] });
    const input = placementInput(pipeline);
    expect(input.pins.size).toBe(0);
    expect(input.edges).toEqual([]);
    expect(input.nodes).toEqual([{ id: 'src', operator: 'synthetic', cpus: 1, gpus: 0, replicas: 1, extra: 0 }]);
  });

  it('keeps a node and a pin named __proto__ from a parsed document', () => {
    const text =
      '{"emflow":1,"nodes":[{"id":"__proto__","operator":"synthetic","params":{"pattern":"noise","width":8,"height":8}},' +
      '{"id":"constructor","operator":"heavy","params":{"sigma":1}}],' +
      '"edges":[{"from":{"node":"__proto__","port":"image"},"to":{"node":"constructor","port":"image"}}],' +
      '"placement":{"hosts":{"__proto__":1}}}';
    const input = placementInput(resolved(JSON.parse(text)));
    expect(input.nodes).toEqual([
      { id: '__proto__', operator: 'synthetic', cpus: 1, gpus: 0, replicas: 1, extra: 0 },
      { id: 'constructor', operator: 'heavy', cpus: 3, gpus: 1, replicas: 1, extra: 0 },
    ]);
    expect([...input.pins]).toEqual([['__proto__', 1]]);
    const placement = placeNodes(input.nodes, input.edges, [host('e', 8, 1), host('w', 4, 1)], { pins: input.pins });
    expect(entries(placement)).toEqual([
      ['__proto__', ['w']],
      ['constructor', ['w']],
    ]);
  });
});

describe('allocation: SLURM_JOB_CPUS_PER_NODE', () => {
  it('expands counts and repeats in node order', () => {
    expect(cpusPerNode('2(x3),1')).toEqual([2, 2, 2, 1]);
    expect(cpusPerNode('16')).toEqual([16]);
    expect(cpusPerNode('4,8(x2)')).toEqual([4, 8, 8]);
    expect(cpusPerNode(' 2(x2) , 3')).toEqual([2, 2, 3]);
  });

  it('refuses anything else', () => {
    for (const text of ['', 'abc', '2(x)', '2,,1', '2(3)', '-1', '2.5', '2(x3']) {
      expect(() => cpusPerNode(text), text).toThrow(`SLURM_JOB_CPUS_PER_NODE "${text}" is not a list such as 2(x3),1`);
    }
  });
});

describe('allocation: GPUs in a Gres field', () => {
  it('adds up the gpu entries, typed or not', () => {
    expect(gpusOf('gpu:a100:4(S:0-1),gpu:2')).toBe(6);
    expect(gpusOf('gpu:1')).toBe(1);
    expect(gpusOf('gpu:tesla:2,mps:100')).toBe(2);
    expect(gpusOf('gpu:a100:2(S:0),gpu:h100:1(S:1)')).toBe(3);
  });

  it('counts 0 without GPUs', () => {
    expect(gpusOf('(null)')).toBe(0);
    expect(gpusOf(undefined)).toBe(0);
    expect(gpusOf('')).toBe(0);
    expect(gpusOf('mps:100')).toBe(0);
  });
});

const SCONTROL = [
  'NodeName=emflow-h1 Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=2.37 AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=10.77.0.11 NodeHostName=emflow-h1 Version=22.05.8 RealMemory=4000 State=IDLE Partitions=hosts',
  'NodeName=emflow-h2 Arch=x86_64 CoresPerSocket=4  CPUAlloc=2 CPUEfctv=8 CPUTot=8 CPULoad=0.10 AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:a100:2(S:0) NodeAddr=10.77.0.12 NodeHostName=emflow-h2 Version=22.05.8 OS=Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)  RealMemory=16000 State=MIXED Partitions=hosts',
  '',
  'NodeName=emflow-h3 CPUTot=4 Gres=(null) State=IDLE',
  '',
].join('\n');

describe('allocation: scontrol show node --oneliner', () => {
  it('reads the Key=Value fields of each node', () => {
    const nodes = parseNodes(SCONTROL);
    expect([...nodes.keys()]).toEqual(['emflow-h1', 'emflow-h2', 'emflow-h3']);
    const h1 = nodes.get('emflow-h1')!;
    expect(h1.NodeAddr).toBe('10.77.0.11');
    expect(h1.CPUTot).toBe('2');
    expect(h1.CPUEfctv).toBe('2');
    expect(h1.CPULoad).toBe('2.37');
    expect(h1.Gres).toBe('(null)');
    expect(h1.RealMemory).toBe('4000');
    expect(h1.State).toBe('IDLE');
    expect(h1.Partitions).toBe('hosts');
    expect(h1.NodeHostName).toBe('emflow-h1');
    const h2 = nodes.get('emflow-h2')!;
    expect(h2.Gres).toBe('gpu:a100:2(S:0)');
    expect(h2.OS).toBe('Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)');
    expect(h2.RealMemory).toBe('16000');
    expect(nodes.get('emflow-h3')!.NodeAddr).toBeUndefined();
  });

  it('keeps fields in objects without a prototype, and skips lines without NodeName', () => {
    const nodes = parseNodes('Comment=(null) State=IDLE\nNodeName=__proto__ CPUTot=3 constructor=x\n');
    expect([...nodes.keys()]).toEqual(['__proto__']);
    const fields = nodes.get('__proto__')!;
    expect(Object.getPrototypeOf(fields)).toBeNull();
    expect(fields.CPUTot).toBe('3');
    expect(fields.constructor).toBe('x');
    expect(fields.toString).toBeUndefined();
  });
});

describe('allocation: the hosts', () => {
  const nodes = parseNodes(SCONTROL);

  it('lists the engine host first, the others in node-list order, with addresses, CPUs and GPUs', () => {
    expect(allocationHosts(['emflow-h1', 'emflow-h2', 'emflow-h3'], [2, 6], nodes, 'emflow-h2')).toEqual([
      { name: 'emflow-h2', address: '10.77.0.12', cpus: 6, gpus: 2 },
      { name: 'emflow-h1', address: '10.77.0.11', cpus: 2, gpus: 0 },
      // no CPU count from the job: CPUTot; no NodeAddr: its name
      { name: 'emflow-h3', address: 'emflow-h3', cpus: 4, gpus: 0 },
    ]);
  });

  it('takes the CPUs of the job in node-list order', () => {
    expect(allocationHosts(['emflow-h1', 'emflow-h2', 'emflow-h3'], cpusPerNode('1,3(x2)'), nodes, 'emflow-h3').map((h) => [h.name, h.cpus])).toEqual([
      ['emflow-h3', 3],
      ['emflow-h1', 1],
      ['emflow-h2', 3],
    ]);
    expect(allocationHosts(['emflow-h1', 'emflow-h2'], [], nodes, 'emflow-h1').map((h) => [h.name, h.cpus])).toEqual([
      ['emflow-h1', 2],
      ['emflow-h2', 8],
    ]);
  });

  it('refuses an engine host that is not in the allocation', () => {
    expect(() => allocationHosts(['emflow-h1', 'emflow-h2'], [2, 2], nodes, 'login1')).toThrow("this engine runs on login1, which is not one of the allocation's nodes (emflow-h1, emflow-h2)");
  });

  it('refuses a node scontrol does not describe', () => {
    expect(() => allocationHosts(['emflow-h1', 'emflow-h4'], [2, 2], nodes, 'emflow-h1')).toThrow('scontrol does not know node emflow-h4 of the allocation');
  });
});

describe('awayPorts: the ports whose frames the engine host never needs whole', () => {
  const edge = (from: string, port: string, to: string) => ({ from: { node: from, port }, to: { node: to } });
  const placement: Placement = new Map([
    ['src', ['h2']],
    ['blur', ['h3']],
    ['stats', ['h1']],
    ['wide', ['h2', 'h1']],
    ['far', ['h3', 'h2']],
  ]);

  it('lists a port when every consumer runs away from the engine host, and not when one runs on it', () => {
    const away = awayPorts([edge('src', 'image', 'blur'), edge('src', 'image', 'stats'), edge('src', 'mask', 'blur'), edge('blur', 'image', 'far')], placement, 'h1');
    expect([...away.get('src')!]).toEqual(['mask']);
    expect([...away.get('blur')!]).toEqual(['image']);
  });

  it('counts every replica of a consumer: one on the engine host keeps the port whole', () => {
    const away = awayPorts([edge('src', 'image', 'wide'), edge('blur', 'image', 'far')], placement, 'h1');
    expect([...away.get('src')!]).toEqual([]);
    expect([...away.get('blur')!]).toEqual(['image']);
  });

  it('has no entry for a node whose ports feed nothing (their frames are the run\'s results, wanted whole)', () => {
    const away = awayPorts([edge('src', 'image', 'blur')], placement, 'h1');
    expect(away.has('blur')).toBe(false);
    expect(away.has('stats')).toBe(false);
  });

  it('treats a consumer it has no placement for as on the engine host, and takes __proto__ as a plain id', () => {
    const away = awayPorts([edge('__proto__', 'out', 'blur'), edge('src', 'image', 'nowhere')], new Map([...placement, ['__proto__', ['h2']]]), 'h1');
    expect([...away.get('__proto__')!]).toEqual(['out']);
    expect([...away.get('src')!]).toEqual([]);
  });
});
