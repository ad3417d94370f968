import type { OperatorSpec } from '@emflow/sdk';
import { describe, expect, it } from 'vitest';
import { canConnect, checkPipeline, checkParams, type PipelineEdge } from '../src/validate/pipeline.js';
import { formatProblems, ValidationError } from '../src/validate/problems.js';
import { lookup } from './specs.js';

const edge = (from: string, to: string): PipelineEdge => {
  const [fn, fp] = from.split('.');
  const [tn, tp] = to.split('.');
  return { from: { node: fn, port: fp }, to: { node: tn, port: tp } };
};

/** synthetic → gaussian-blur → scale → stats, nodes listed out of order. */
function chain() {
  return {
    emflow: 1,
    name: 'chain',
    nodes: [
      { id: 'stats', operator: 'stats' },
      { id: 'scale', operator: 'scale', params: { a: 100 } },
      { id: 'src', operator: 'synthetic', params: { pattern: 'gaussian-blobs', width: 64 } },
      { id: 'blur', operator: 'gaussian-blur', params: { sigma: 2 } },
    ],
    edges: [edge('src.image', 'blur.image'), edge('blur.image', 'scale.image'), edge('scale.image', 'stats.image')],
  };
}

const check = (doc: unknown) => checkPipeline(doc, lookup);
const problemsOf = (doc: unknown) => check(doc).problems;

describe('checkPipeline: a valid chain', () => {
  it('resolves with no problems', () => {
    const result = check(chain());
    expect(result.problems).toEqual([]);
    expect(result.pipeline).toBeDefined();
  });

  it('orders every node after its upstream nodes', () => {
    expect(check(chain()).pipeline!.order).toEqual(['src', 'blur', 'scale', 'stats']);
  });

  it('orders a diamond so that each edge goes forward', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'join', operator: 'merge' },
        { id: 'left', operator: 'scale' },
        { id: 'right', operator: 'scale' },
        { id: 'src', operator: 'synthetic' },
      ],
      edges: [edge('left.image', 'join.a'), edge('right.image', 'join.b'), edge('src.image', 'left.image'), edge('src.image', 'right.image')],
    };
    const { problems, pipeline } = check(doc);
    expect(problems).toEqual([]);
    const order = pipeline!.order;
    expect([...order].sort()).toEqual(['join', 'left', 'right', 'src']);
    for (const e of doc.edges) expect(order.indexOf(e.from.node)).toBeLessThan(order.indexOf(e.to.node));
  });

  it('fills defaults into the clone and leaves the input untouched', () => {
    const input = chain();
    const before = structuredClone(input);
    const { pipeline } = check(input);
    expect(input).toEqual(before);
    const params = Object.fromEntries(pipeline!.document.nodes.map((n) => [n.id, n.params]));
    expect(params).toEqual({
      stats: {},
      scale: { a: 100, b: 0 },
      src: { pattern: 'gaussian-blobs', width: 64, height: 512, count: 1, seed: 0 },
      blur: { sigma: 2 },
    });
    expect(pipeline!.document).not.toBe(input);
    expect(pipeline!.document.nodes[0]).not.toBe(input.nodes[0]);
  });

  it('fills in a missing edges list', () => {
    const { problems, pipeline } = check({ emflow: 1, nodes: [{ id: 'src', operator: 'synthetic' }] });
    expect(problems).toEqual([]);
    expect(pipeline!.document.edges).toEqual([]);
    expect(pipeline!.order).toEqual(['src']);
  });

  it('maps inputs and consumers', () => {
    const { pipeline } = check(chain());
    expect(pipeline!.inputs).toEqual(
      new Map([
        ['blur', new Map([['image', { node: 'src', port: 'image' }]])],
        ['scale', new Map([['image', { node: 'blur', port: 'image' }]])],
        ['stats', new Map([['image', { node: 'scale', port: 'image' }]])],
      ]),
    );
    expect(pipeline!.consumers).toEqual(
      new Map([
        ['src.image', [{ node: 'blur', port: 'image' }]],
        ['blur.image', [{ node: 'scale', port: 'image' }]],
        ['scale.image', [{ node: 'stats', port: 'image' }]],
      ]),
    );
    expect(pipeline!.specs.get('blur')).toBe(lookup('gaussian-blur'));
  });

  it('lists every consumer of an output that feeds several inputs', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'a', operator: 'stats' },
        { id: 'b', operator: 'gaussian-blur' },
      ],
      edges: [edge('src.image', 'a.image'), edge('src.image', 'b.image')],
    };
    expect(check(doc).pipeline!.consumers.get('src.image')).toEqual([
      { node: 'a', port: 'image' },
      { node: 'b', port: 'image' },
    ]);
  });

  it('resolves port types along the chain', () => {
    const { pipeline } = check(chain());
    expect(pipeline!.types.get('src.image')).toBe('image2d');
    expect(pipeline!.types.get('blur.image')).toBe('image2d');
    // scale's ndarray output is sameAs its input, which an image2d feeds
    expect(pipeline!.types.get('scale.image')).toBe('image2d');
    expect(pipeline!.types.get('stats.stats')).toBe('json');
  });

  it('lets a sameAs output fed by an image2d feed an image2d-only input', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'scale', operator: 'scale' },
        { id: 'blur', operator: 'gaussian-blur' },
      ],
      edges: [edge('src.image', 'scale.image'), edge('scale.image', 'blur.image')],
    };
    const { problems, pipeline } = check(doc);
    expect(problems).toEqual([]);
    expect(pipeline!.types.get('scale.image')).toBe('image2d');
  });

  it('keeps the declared type of a sameAs output fed by a wider type', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'everything' },
        { id: 'scale', operator: 'scale' },
      ],
      edges: [edge('src.volume3d', 'scale.image')],
    };
    expect(check(doc).pipeline!.types.get('scale.image')).toBe('volume3d');
  });

  it('without sameAs, the ndarray output cannot feed an image2d-only input', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'scale', operator: 'scale-plain' },
        { id: 'blur', operator: 'gaussian-blur' },
      ],
      edges: [edge('src.image', 'scale.image'), edge('scale.image', 'blur.image')],
    };
    const { problems, pipeline } = check(doc);
    expect(pipeline).toBeUndefined();
    expect(problems).toEqual([{ pointer: '/edges/1', message: 'type mismatch: scale.image is ndarray, input blur.image (gaussian-blur) expects image2d' }]);
  });

  it('resolves a sameAs output from an unconnected optional input to the declared input type', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'm', operator: 'merge' },
      ],
      edges: [edge('src.image', 'm.a')],
    };
    const { problems, pipeline } = check(doc);
    expect(problems).toEqual([]);
    expect(pipeline!.types.get('m.out')).toBe('image2d');
  });

  // an input and an output of one node may share a name: sameAs must follow the input's resolved type
  it('resolves sameAs from the input port even when an output has the same name', () => {
    const split: OperatorSpec = {
      name: 'split',
      version: '1.0.0',
      description: 'Two outputs; the second follows the input.',
      inputs: { image: { type: 'ndarray' } },
      outputs: { image: { type: 'ndarray' }, copy: { type: 'ndarray', sameAs: 'image' } },
    };
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'split', operator: 'split' },
        { id: 'blur', operator: 'gaussian-blur' },
      ],
      edges: [edge('src.image', 'split.image'), edge('split.copy', 'blur.image')],
    };
    const result = checkPipeline(doc, (name) => (name === 'split' ? split : lookup(name)));
    // actual: [{ pointer: '/edges/1', message: 'type mismatch: split.copy is ndarray, input blur.image (gaussian-blur) expects image2d' }]
    expect(result.problems).toEqual([]);
    expect(result.pipeline!.types.get('split.copy')).toBe('image2d');
  });
});

describe('checkPipeline: document shape', () => {
  const node = { id: 'src', operator: 'synthetic' };

  it('reports a missing emflow field', () => {
    expect(problemsOf({ nodes: [node] })).toEqual([{ pointer: '', message: 'missing required field "emflow"' }]);
  });

  it('reports a wrong format version', () => {
    expect(problemsOf({ emflow: 2, nodes: [node] })).toEqual([{ pointer: '/emflow', message: 'expected 1, got 2' }]);
  });

  it('reports a document that is not an object', () => {
    expect(problemsOf(null)).toEqual([{ pointer: '', message: 'expected object, got null' }]);
    expect(problemsOf([])).toEqual([{ pointer: '', message: 'expected object, got []' }]);
  });

  it('reports nodes that are not an array', () => {
    expect(problemsOf({ emflow: 1, nodes: { src: node } })).toEqual([{ pointer: '/nodes', message: 'expected array, got {"src":{"id":"src","operator":"synthetic"}}' }]);
  });

  it('reports a missing nodes field', () => {
    expect(problemsOf({ emflow: 1 })).toEqual([{ pointer: '', message: 'missing required field "nodes"' }]);
  });

  it('reports a node without an id', () => {
    expect(problemsOf({ emflow: 1, nodes: [node, { operator: 'stats' }] })).toEqual([{ pointer: '/nodes/1', message: 'missing required field "id"' }]);
  });

  it('reports bad characters in a node id', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 'my node', operator: 'synthetic' }] })).toEqual([
      { pointer: '/nodes/0/id', message: '"my node" does not match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$' },
    ]);
    expect(problemsOf({ emflow: 1, nodes: [{ id: '1st', operator: 'synthetic' }] })).toEqual([
      { pointer: '/nodes/0/id', message: '"1st" does not match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$' },
    ]);
    expect(problemsOf({ emflow: 1, nodes: [{ id: 'a.b', operator: 'synthetic' }] })).toEqual([
      { pointer: '/nodes/0/id', message: '"a.b" does not match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$' },
    ]);
  });

  it('reports an empty operator name', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 'src', operator: '' }] })).toEqual([
      { pointer: '/nodes/0/operator', message: 'must NOT have fewer than 1 characters, got ""' },
    ]);
  });

  it('reports an unknown top-level field', () => {
    expect(problemsOf({ emflow: 1, nodes: [node], author: 'me' })).toEqual([{ pointer: '/author', message: 'unknown field "author"' }]);
  });

  it('escapes an unknown field name in the pointer', () => {
    expect(problemsOf({ emflow: 1, nodes: [node], 'a/b~c': 1 })).toEqual([{ pointer: '/a~1b~0c', message: 'unknown field "a/b~c"' }]);
  });

  it('reports an unknown node field', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ ...node, colour: 'red' }] })).toEqual([{ pointer: '/nodes/0/colour', message: 'unknown field "colour"' }]);
  });

  it('reports params that are not an object', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ ...node, params: [1] }] })).toEqual([{ pointer: '/nodes/0/params', message: 'expected object, got [1]' }]);
  });

  it('reports an edge without a `to`', () => {
    expect(problemsOf({ emflow: 1, nodes: [node], edges: [{ from: { node: 'src', port: 'image' } }] })).toEqual([
      { pointer: '/edges/0', message: 'missing required field "to"' },
    ]);
  });

  it('reports an endpoint without a port', () => {
    expect(problemsOf({ emflow: 1, nodes: [node], edges: [{ from: { node: 'src' }, to: { node: 'x', port: 'y' } }] })).toEqual([
      { pointer: '/edges/0/from', message: 'missing required field "port"' },
    ]);
  });

  it('reports every shape problem at once', () => {
    expect(problemsOf({ version: 1, nodes: [{ id: 'a b', operator: 'synthetic' }, { id: 'ok' }], edges: [{ to: { node: 'ok', port: 'x' } }] })).toEqual([
      { pointer: '', message: 'missing required field "emflow"' },
      { pointer: '/version', message: 'unknown field "version"' },
      { pointer: '/nodes/0/id', message: '"a b" does not match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$' },
      { pointer: '/nodes/1', message: 'missing required field "operator"' },
      { pointer: '/edges/0', message: 'missing required field "from"' },
    ]);
  });
});

describe('checkPipeline: nodes and edges', () => {
  it('reports a duplicate node id at the second use', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
        { id: 'src', operator: 'synthetic' },
      ],
      edges: [edge('src.image', 'stats.image')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/nodes/2/id', message: 'duplicate node id "src" (first used at /nodes/0)' }]);
  });

  // an edge that touches a node with an unknown operator is still a connection: no "not connected" report follows
  it('reports an unknown operator, and nothing more about edges touching its node', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'fft', operator: 'fourier' },
        { id: 'stats', operator: 'stats' },
      ],
      edges: [edge('src.image', 'fft.image'), edge('fft.power', 'stats.image')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/nodes/1/operator', message: 'unknown operator "fourier" (see `emflow operators`)' }]);
  });

  it('reports an unknown node at either end of an edge', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
      ],
      edges: [edge('src.image', 'stats.image'), edge('nope.image', 'stats.image'), edge('src.image', 'gone.image')],
    };
    expect(problemsOf(doc)).toEqual([
      { pointer: '/edges/1/from/node', message: 'unknown node "nope"' },
      { pointer: '/edges/2/to/node', message: 'unknown node "gone"' },
    ]);
  });

  it('reports unknown ports and lists the ports the node has', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'blur', operator: 'gaussian-blur' },
        { id: 'm', operator: 'merge' },
      ],
      edges: [edge('src.img', 'blur.image'), edge('src.image', 'm.c'), edge('blur.image', 'm.a')],
    };
    const problems = problemsOf(doc);
    expect(problems).toContainEqual({ pointer: '/edges/0/from/port', message: 'node "src" (synthetic) has no output port "img" (outputs: image)' });
    expect(problems).toContainEqual({ pointer: '/edges/1/to/port', message: 'node "m" (merge) has no input port "c" (inputs: a, b)' });
  });

  it('reports an input port on an operator with no inputs as "none"', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'a', operator: 'synthetic' },
        { id: 'b', operator: 'synthetic' },
      ],
      edges: [edge('a.image', 'b.image')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/0/to/port', message: 'node "b" (synthetic) has no input port "image" (inputs: none)' }]);
  });

  it('reports an input wired twice', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'a', operator: 'synthetic' },
        { id: 'b', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
      ],
      edges: [edge('a.image', 'stats.image'), edge('b.image', 'stats.image')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/1/to', message: 'input stats.image is already connected by /edges/0' }]);
  });

  it('reports a type mismatch naming both ends and both types', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
        { id: 'blur', operator: 'gaussian-blur' },
      ],
      edges: [edge('src.image', 'stats.image'), edge('stats.stats', 'blur.image')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/1', message: 'type mismatch: stats.stats is json, input blur.image (gaussian-blur) expects image2d' }]);
  });
});

describe('checkPipeline: port type compatibility', () => {
  const feed = (output: string, sink: string) =>
    problemsOf({
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'everything' },
        { id: 'sink', operator: sink },
      ],
      edges: [edge(`src.${output}`, 'sink.x')],
    });

  it.each(['ndarray', 'image2d', 'volume3d', 'stack', 'spectrum'])('an ndarray input accepts a %s output', (type) => {
    expect(feed(type, 'sink-ndarray')).toEqual([]);
  });

  it.each(['table', 'scalar', 'json'])('an ndarray input rejects a %s output', (type) => {
    expect(feed(type, 'sink-ndarray')).toEqual([{ pointer: '/edges/0', message: `type mismatch: src.${type} is ${type}, input sink.x (sink-ndarray) expects ndarray` }]);
  });

  it('a json input accepts json and scalar but not table', () => {
    expect(feed('json', 'sink-json')).toEqual([]);
    expect(feed('scalar', 'sink-json')).toEqual([]);
    expect(feed('table', 'sink-json')).toEqual([{ pointer: '/edges/0', message: 'type mismatch: src.table is table, input sink.x (sink-json) expects json' }]);
  });

  it('an image2d input rejects ndarray and other array types', () => {
    expect(feed('image2d', 'sink-image2d')).toEqual([]);
    for (const type of ['ndarray', 'volume3d', 'stack', 'spectrum']) {
      expect(feed(type, 'sink-image2d')).toEqual([{ pointer: '/edges/0', message: `type mismatch: src.${type} is ${type}, input sink.x (sink-image2d) expects image2d` }]);
    }
  });

  it('canConnect is directional', () => {
    expect(canConnect('image2d', 'ndarray')).toBe(true);
    expect(canConnect('ndarray', 'image2d')).toBe(false);
    expect(canConnect('scalar', 'json')).toBe(true);
    expect(canConnect('json', 'scalar')).toBe(false);
    expect(canConnect('table', 'table')).toBe(true);
    expect(canConnect('table', 'ndarray')).toBe(false);
  });
});

describe('checkPipeline: cycles', () => {
  it('reports a 2-cycle at one of its edges', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'a', operator: 'scale' },
        { id: 'b', operator: 'scale' },
      ],
      edges: [edge('a.image', 'b.image'), edge('b.image', 'a.image')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/0', message: 'the graph has a cycle through nodes "a", "b"' }]);
  });

  it('reports a 3-cycle hanging off a source at an edge of the cycle', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'x', operator: 'merge' },
        { id: 'y', operator: 'scale' },
        { id: 'z', operator: 'scale' },
      ],
      edges: [edge('src.image', 'x.a'), edge('x.out', 'y.image'), edge('y.image', 'z.image'), edge('z.image', 'x.b')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/1', message: 'the graph has a cycle through nodes "x", "y", "z"' }]);
  });

  it('reports a node wired to itself', () => {
    const doc = { emflow: 1, nodes: [{ id: 'a', operator: 'scale' }], edges: [edge('a.image', 'a.image')] };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/0', message: 'the graph has a cycle through nodes "a"' }]);
  });

  // nodes downstream of a cycle are not on it: neither the message nor the pointer may name them
  it('names only the nodes on the cycle, and points at an edge of the cycle', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'a', operator: 'scale' },
        { id: 'b', operator: 'scale' },
        { id: 'c', operator: 'stats' },
      ],
      edges: [edge('b.image', 'c.image'), edge('a.image', 'b.image'), edge('b.image', 'a.image')],
    };
    // actual: [{ pointer: '/edges/0', message: 'the graph has a cycle through nodes "a", "b", "c"' }]
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/1', message: 'the graph has a cycle through nodes "a", "b"' }]);
  });
});

describe('checkPipeline: inputs left unconnected', () => {
  it('reports an unconnected required input at its node', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
      ],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/nodes/1', message: 'required input "image" of node "stats" (stats) is not connected' }]);
  });

  it('accepts an unconnected optional input', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'm', operator: 'merge' },
      ],
      edges: [edge('src.image', 'm.a')],
    };
    const { problems, pipeline } = check(doc);
    expect(problems).toEqual([]);
    expect(pipeline!.inputs.get('m')).toEqual(new Map([['a', { node: 'src', port: 'image' }]]));
  });

  it('reports the required input but not the optional one when both are unconnected', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 'm', operator: 'merge' }] })).toEqual([
      { pointer: '/nodes/0', message: 'required input "a" of node "m" (merge) is not connected' },
    ]);
  });
});

describe('checkPipeline: params', () => {
  const one = (operator: string, params: Record<string, unknown>) => problemsOf({ emflow: 1, nodes: [{ id: 'src', operator: 'synthetic' }, { id: 'n', operator, params }], edges: operator === 'gaussian-blur' ? [edge('src.image', 'n.image')] : [] });

  it('reports a param of the wrong type', () => {
    expect(one('gaussian-blur', { sigma: 'abc' })).toEqual([{ pointer: '/nodes/1/params/sigma', message: 'expected number, got "abc"' }]);
  });

  it('does not coerce a numeric string', () => {
    expect(one('gaussian-blur', { sigma: '2' })).toEqual([{ pointer: '/nodes/1/params/sigma', message: 'expected number, got "2"' }]);
  });

  it('reports a value below the minimum and above the maximum', () => {
    expect(one('gaussian-blur', { sigma: -1 })).toEqual([{ pointer: '/nodes/1/params/sigma', message: 'expected a value >= 0, got -1' }]);
    expect(one('gaussian-blur', { sigma: 1001 })).toEqual([{ pointer: '/nodes/1/params/sigma', message: 'expected a value <= 1000, got 1001' }]);
  });

  it('reports a value outside the enum', () => {
    expect(one('synthetic', { pattern: 'stripes' })).toEqual([
      { pointer: '/nodes/1/params/pattern', message: 'expected one of "noise", "gaussian-blobs", "lattice"; got "stripes"' },
    ]);
  });

  it('reports a fractional value for an integer param', () => {
    expect(one('synthetic', { width: 1.5 })).toEqual([{ pointer: '/nodes/1/params/width', message: 'expected integer, got 1.5' }]);
  });

  it('reports an unknown param and lists the known ones', () => {
    expect(one('gaussian-blur', { radius: 3 })).toEqual([{ pointer: '/nodes/1/params/radius', message: 'unknown param "radius" of gaussian-blur (params: sigma)' }]);
    expect(one('synthetic', { size: 3 })).toEqual([
      { pointer: '/nodes/1/params/size', message: 'unknown param "size" of synthetic (params: pattern, width, height, count, seed)' },
    ]);
  });

  it('says "none" when an operator has no params', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 'e', operator: 'everything', params: { x: 1 } }] })).toEqual([
      { pointer: '/nodes/0/params/x', message: 'unknown param "x" of everything (params: none)' },
    ]);
  });

  it('reports a missing required param that has no default, and not an optional one', () => {
    expect(one('reader', {})).toEqual([{ pointer: '/nodes/1/params', message: 'missing required field "path"' }]);
  });

  it('reports a missing required param when params is omitted', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 'r', operator: 'reader' }] })).toEqual([{ pointer: '/nodes/0/params', message: 'missing required field "path"' }]);
  });

  it('fills in defaults but not values of optional params', () => {
    const { problems, pipeline } = check({ emflow: 1, nodes: [{ id: 'r', operator: 'reader', params: { path: 'in.mrc' } }] });
    expect(problems).toEqual([]);
    expect(pipeline!.document.nodes[0].params).toEqual({ path: 'in.mrc', verbose: false });
  });

  it('keeps a given value over the default', () => {
    const { pipeline } = check({ emflow: 1, nodes: [{ id: 'r', operator: 'reader', params: { path: 'in.mrc', verbose: true, limit: 3 } }] });
    expect(pipeline!.document.nodes[0].params).toEqual({ path: 'in.mrc', verbose: true, limit: 3 });
  });

  it('reports every problem of one node', () => {
    expect(one('synthetic', { pattern: 1, width: 0, height: 'x', seed: -1, colour: 'red' })).toEqual([
      { pointer: '/nodes/1/params/colour', message: 'unknown param "colour" of synthetic (params: pattern, width, height, count, seed)' },
      { pointer: '/nodes/1/params/pattern', message: 'expected string, got 1' },
      { pointer: '/nodes/1/params/pattern', message: 'expected one of "noise", "gaussian-blobs", "lattice"; got 1' },
      { pointer: '/nodes/1/params/width', message: 'expected a value >= 1, got 0' },
      { pointer: '/nodes/1/params/height', message: 'expected integer, got "x"' },
      { pointer: '/nodes/1/params/seed', message: 'expected a value >= 0, got -1' },
    ]);
  });

  it('checkParams fills defaults into the params it is given', () => {
    const params: Record<string, unknown> = { a: 2 };
    expect(checkParams(lookup('scale')!, params, '/x')).toEqual([]);
    expect(params).toEqual({ a: 2, b: 0 });
  });
});

describe('checkPipeline: several problems at once', () => {
  it('reports problems of nodes, edges, types and params together, in that order', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic', params: { width: 0 } },
        { id: 'blur', operator: 'gaussian-blur', params: { sigma: 'wide' } },
        { id: 'what', operator: 'unknown-op' },
        { id: 'stats', operator: 'stats' },
        { id: 'src', operator: 'stats' },
        { id: 'img', operator: 'gaussian-blur' },
        { id: 'm', operator: 'merge' },
      ],
      edges: [edge('src.image', 'blur.image'), edge('blur.out', 'm.b'), edge('stats.stats', 'img.image'), edge('ghost.x', 'what.y'), edge('blur.image', 'm.a')],
    };
    const problems = problemsOf(doc);
    expect(problems).toEqual([
      { pointer: '/nodes/0/params/width', message: 'expected a value >= 1, got 0' },
      { pointer: '/nodes/1/params/sigma', message: 'expected number, got "wide"' },
      { pointer: '/nodes/2/operator', message: 'unknown operator "unknown-op" (see `emflow operators`)' },
      { pointer: '/nodes/4/id', message: 'duplicate node id "src" (first used at /nodes/0)' },
      { pointer: '/edges/1/from/port', message: 'node "blur" (gaussian-blur) has no output port "out" (outputs: image)' },
      { pointer: '/edges/3/from/node', message: 'unknown node "ghost"' },
      { pointer: '/nodes/3', message: 'required input "image" of node "stats" (stats) is not connected' },
      { pointer: '/edges/2', message: 'type mismatch: stats.stats is json, input img.image (gaussian-blur) expects image2d' },
    ]);
    const error = new ValidationError(problems, 'p.json');
    expect(error.message).toBe(`p.json: 8 problems\n${formatProblems(problems)}`);
    expect(error.message.split('\n')[1]).toBe('/nodes/0/params/width: expected a value >= 1, got 0');
  });
});

// Names every JS object has must behave like any other name: a document is data, never a key into a prototype.
describe('checkPipeline: names an object inherits (__proto__, constructor, ...)', () => {
  const inherited = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

  it.each(inherited)('rejects %j as an output port and as an input port', (port) => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
      ],
      edges: [edge(`src.${port}`, 'stats.image'), edge('src.image', `stats.${port}`)],
    };
    expect(problemsOf(doc)).toEqual([
      { pointer: '/edges/0/from/port', message: `node "src" (synthetic) has no output port "${port}" (outputs: image)` },
      { pointer: '/edges/1/to/port', message: `node "stats" (stats) has no input port "${port}" (inputs: image)` },
    ]);
  });

  it('rejects inherited names as ports of a node whose operator has no inputs', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'a', operator: 'synthetic' },
        { id: 'b', operator: 'synthetic' },
      ],
      edges: [edge('a.image', 'b.constructor')],
    };
    expect(problemsOf(doc)).toEqual([{ pointer: '/edges/0/to/port', message: 'node "b" (synthetic) has no input port "constructor" (inputs: none)' }]);
  });

  it('accepts inherited names as node ids, end to end', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: '__proto__', operator: 'synthetic' },
        { id: 'constructor', operator: 'gaussian-blur' },
        { id: 'toString', operator: 'scale' },
        { id: 'hasOwnProperty', operator: 'stats' },
      ],
      edges: [edge('__proto__.image', 'constructor.image'), edge('constructor.image', 'toString.image'), edge('toString.image', 'hasOwnProperty.image')],
    };
    const { problems, pipeline } = check(doc);
    expect(problems).toEqual([]);
    expect(pipeline!.order).toEqual(['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
    expect(pipeline!.inputs.get('constructor')!.get('image')).toEqual({ node: '__proto__', port: 'image' });
    expect(pipeline!.types.get('toString.image')).toBe('image2d');
    expect(pipeline!.specs.get('__proto__')).toBe(lookup('synthetic'));
  });

  it('reports a duplicate __proto__ id and an unknown node "constructor"', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: '__proto__', operator: 'synthetic' },
        { id: '__proto__', operator: 'synthetic' },
        { id: 'stats', operator: 'stats' },
      ],
      edges: [edge('__proto__.image', 'stats.image'), edge('constructor.image', 'stats.image')],
    };
    expect(problemsOf(doc)).toEqual([
      { pointer: '/nodes/1/id', message: 'duplicate node id "__proto__" (first used at /nodes/0)' },
      { pointer: '/edges/1/from/node', message: 'unknown node "constructor"' },
    ]);
  });

  it('rejects inherited names as params, including an own "__proto__" key from JSON', () => {
    const doc = JSON.parse('{"emflow":1,"nodes":[{"id":"s","operator":"synthetic","params":{"__proto__":{"width":1},"constructor":1,"toString":"x"}}]}');
    const names = 'pattern, width, height, count, seed';
    expect(problemsOf(doc)).toEqual([
      { pointer: '/nodes/0/params/__proto__', message: `unknown param "__proto__" of synthetic (params: ${names})` },
      { pointer: '/nodes/0/params/constructor', message: `unknown param "constructor" of synthetic (params: ${names})` },
      { pointer: '/nodes/0/params/toString', message: `unknown param "toString" of synthetic (params: ${names})` },
    ]);
  });

  it('fills the default of a param whose name an object inherits, and never sets a prototype', () => {
    const odd: OperatorSpec = {
      name: 'odd',
      version: '1.0.0',
      description: 'Ports and params named like Object.prototype members.',
      // (`as const`: TypeScript types a literal's "constructor" or "toString" member from Object, not the record)
      inputs: { constructor: { type: 'image2d' as const } },
      outputs: { toString: { type: 'ndarray' as const, sameAs: 'constructor' } },
      params: { valueOf: { type: 'number' as const, default: 2 }, toString: { type: 'string' as const, optional: true } },
    };
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'o', operator: 'odd' },
      ],
      edges: [edge('src.image', 'o.constructor')],
    };
    const { problems, pipeline } = checkPipeline(doc, (name) => (name === 'odd' ? odd : lookup(name)));
    expect(problems).toEqual([]);
    const params = pipeline!.document.nodes[1].params;
    expect(Object.keys(params)).toEqual(['valueOf']);
    expect(params.valueOf).toBe(2);
    expect(pipeline!.types.get('o.toString')).toBe('image2d');
    // an unconnected input named like an inherited member is still reported
    const unwired = checkPipeline({ emflow: 1, nodes: [{ id: 'o', operator: 'odd' }] }, (name) => (name === 'odd' ? odd : undefined));
    expect(unwired.problems).toEqual([{ pointer: '/nodes/0', message: 'required input "constructor" of node "o" (odd) is not connected' }]);
    // a document setting an own "toString" param keeps it
    const set = checkPipeline({ emflow: 1, nodes: [{ id: 'src', operator: 'synthetic' }, { id: 'o', operator: 'odd', params: { toString: 'x' } }], edges: [edge('src.image', 'o.constructor')] }, (name) => (name === 'odd' ? odd : lookup(name)));
    expect(set.problems).toEqual([]);
    expect(set.pipeline!.document.nodes[1].params).toEqual({ toString: 'x', valueOf: 2 });
  });
});

describe('checkPipeline: large graphs', () => {
  const chainOf = (n: number, first = 0) =>
    Array.from({ length: n }, (_, i) => ({ id: `n${first + i}`, operator: i === 0 && first === 0 ? 'synthetic' : 'scale' }));
  const links = (ids: string[]) => ids.slice(1).map((id, i) => edge(`${ids[i]}.image`, `${id}.image`));

  it('orders a chain of 10,000 nodes in well under a second', () => {
    const nodes = chainOf(10_000);
    const doc = { emflow: 1, nodes: [...nodes].reverse(), edges: links(nodes.map((n) => n.id)) };
    const started = performance.now();
    const { problems, pipeline } = check(doc);
    const ms = performance.now() - started;
    expect(problems).toEqual([]);
    expect(pipeline!.order).toEqual(nodes.map((n) => n.id));
    expect(ms).toBeLessThan(1500);
  });

  it('finds a 2-node cycle ahead of a 9,998-node chain quickly, naming only the cycle', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `n${i}`);
    const doc = {
      emflow: 1,
      nodes: ids.map((id) => ({ id, operator: 'scale' })),
      // n0 ⇄ n1, then n1 → n2 → … → n9999
      edges: [edge('n1.image', 'n0.image'), ...links(ids)],
    };
    const started = performance.now();
    const problems = problemsOf(doc);
    const ms = performance.now() - started;
    expect(problems).toEqual([{ pointer: '/edges/0', message: 'the graph has a cycle through nodes "n0", "n1"' }]);
    expect(ms).toBeLessThan(1500);
  });

  it('lists one consumer per edge of an output that feeds 10,000 inputs', () => {
    const sinks = Array.from({ length: 10_000 }, (_, i) => ({ id: `s${i}`, operator: 'stats' }));
    const doc = { emflow: 1, nodes: [{ id: 'src', operator: 'synthetic' }, ...sinks], edges: sinks.map((s) => edge('src.image', `${s.id}.image`)) };
    const started = performance.now();
    const { pipeline } = check(doc);
    expect(pipeline!.consumers.get('src.image')).toHaveLength(10_000);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

describe('checkPipeline: documents handed over as objects', () => {
  const nested = (depth: number) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  };

  it('reports nesting 5,000 deep at its pointer instead of overflowing the stack', () => {
    const problems = problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic', params: { pattern: nested(5000) } }] });
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toBe('nested deeper than 64 levels');
    expect(problems[0].pointer.startsWith('/nodes/0/params/pattern/a/a/a')).toBe(true);
    expect(problems[0].pointer.length).toBeLessThanOrEqual(160);
  });

  it('accepts 64 levels', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic' }], name: 'x', description: 'y', edges: [] })).toEqual([]);
    expect(problemsOf(nested(64))).toEqual([{ pointer: '', message: 'missing required field "emflow"' }, { pointer: '', message: 'missing required field "nodes"' }, { pointer: '/a', message: 'unknown field "a"' }]);
  });

  it('reports a cyclic object', () => {
    const params: Record<string, unknown> = {};
    params.self = params;
    expect(problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic', params }] })[0].message).toBe('nested deeper than 64 levels');
  });

  it.each([
    [Infinity, 'number out of range (Infinity; JSON numbers are finite, at most ±1.7976931348623157e+308)'],
    [-Infinity, 'number out of range (-Infinity; JSON numbers are finite, at most ±1.7976931348623157e+308)'],
    [NaN, 'not a number (NaN)'],
  ])('reports %s as such, not as "got null"', (value, message) => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic', params: { width: value } }] })).toEqual([{ pointer: '/nodes/0/params/width', message }]);
  });

  it('reports values that are not JSON', () => {
    expect(problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic', params: { width: () => 1 } }] })).toEqual([{ pointer: '/nodes/0/params/width', message: 'not a JSON value (a function)' }]);
    expect(problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic', params: { seed: 1n } }] })).toEqual([{ pointer: '/nodes/0/params/seed', message: 'not a JSON value (a bigint)' }]);
    expect(problemsOf({ emflow: 1, nodes: [{ id: 's', operator: 'synthetic', params: { when: new Date(0) } }] })).toEqual([{ pointer: '/nodes/0/params/when', message: 'not a JSON value (a Date)' }]);
  });

  it('never quotes more than about 80 characters of a value, and keeps every problem on one line', () => {
    const huge = 'x'.repeat(10 << 20);
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic', params: { pattern: huge, [huge]: 1 } },
        { id: 'huge', operator: huge },
        { id: 'stats', operator: 'stats', label: huge },
      ],
      edges: [edge(`src.${huge}`, 'stats.image'), { from: { node: `a\nb${huge}`, port: 'x' }, to: { node: 'stats', port: 'image' } }],
    };
    const started = performance.now();
    const problems = [...problemsOf(doc), ...problemsOf({ ...doc, [`field\n${huge}`]: 1, nodes: [...doc.nodes, { id: huge, operator: 'stats' }] })];
    expect(performance.now() - started).toBeLessThan(1000);
    const segment = (prefix: string) => `${prefix}${'x'.repeat(79 - prefix.length)}…`;
    expect(problems.map((p) => p.pointer)).toEqual([
      `/nodes/0/params/${segment('')}`,
      '/nodes/0/params/pattern',
      '/nodes/1/operator',
      '/edges/0/from/port',
      '/edges/1/from/node',
      `/${segment('field\\u000a')}`,
      '/nodes/3/id',
    ]);
    for (const p of problems) {
      expect(p.message.length, p.message.slice(0, 200)).toBeLessThan(200);
      expect(p.pointer.length).toBeLessThan(120);
      expect(`${p.pointer}: ${p.message}`).not.toMatch(/[\n\r]/);
    }
    expect(problems.some((p) => p.message.includes('…'))).toBe(true);
  });
});

describe('checkPipeline: placement pins (multi-node runs)', () => {
  it('accepts pins of nodes the pipeline has, and names each pin of a node it does not have', () => {
    expect(problemsOf({ ...chain(), placement: { hosts: { stats: 2, src: 0 } } })).toEqual([]);
    expect(problemsOf(JSON.parse(JSON.stringify({ ...chain(), placement: { hosts: { statz: 1 } } })))).toEqual([{ pointer: '/placement/hosts/statz', message: 'pins node "statz", which the pipeline does not have' }]);
    // a document is data: inherited names are pins like any other
    expect(problemsOf(JSON.parse('{"emflow":1,"nodes":[{"id":"src","operator":"synthetic"}],"placement":{"hosts":{"__proto__":1,"constructor":0}}}'))).toEqual([
      { pointer: '/placement/hosts/__proto__', message: 'pins node "__proto__", which the pipeline does not have' },
      { pointer: '/placement/hosts/constructor', message: 'pins node "constructor", which the pipeline does not have' },
    ]);
  });

  it('refuses a pin that is not a host index', () => {
    const problems = problemsOf({ ...chain(), placement: { hosts: { stats: -1 } } });
    expect(problems.map((p) => p.pointer)).toEqual(['/placement/hosts/stats']);
  });
});
