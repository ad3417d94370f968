import { describe, expect, it } from 'vitest';
import { canonicalJson, nodeKey, sha256 } from '../src/hash.js';
import { planRun, type RunPlan } from '../src/plan.js';
import { checkPipeline, type ResolvedPipeline } from '../src/validate/pipeline.js';
import { lookup } from './specs.js';

const edge = (from: string, to: string) => {
  const [fn, fp] = from.split('.');
  const [tn, tp] = to.split('.');
  return { from: { node: fn, port: fp }, to: { node: tn, port: tp } };
};

/**
 * src → blur → scale → stats, and a sibling branch src → side (stats).
 * `params` overrides per node.
 */
function resolve(params: Record<string, Record<string, unknown>> = {}): ResolvedPipeline {
  const doc = {
    emflow: 1,
    nodes: [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 32, height: 16, ...params.src } },
      { id: 'blur', operator: 'gaussian-blur', params: { sigma: 2, ...params.blur } },
      { id: 'scale', operator: 'scale', params: { a: 10, b: 1, ...params.scale } },
      { id: 'stats', operator: 'stats', params: { ...params.stats } },
      { id: 'side', operator: 'stats', params: { ...params.side } },
    ],
    edges: [edge('src.image', 'blur.image'), edge('blur.image', 'scale.image'), edge('scale.image', 'stats.image'), edge('src.image', 'side.image')],
  };
  const { problems, pipeline } = checkPipeline(doc, lookup);
  expect(problems).toEqual([]);
  return pipeline!;
}

const identities = new Map([
  ['src', 'sha256:synthetic'],
  ['blur', 'sha256:blur'],
  ['scale', 'sha256:scale'],
  ['stats', 'sha256:stats'],
  ['side', 'sha256:stats'],
]);

const plan = (pipeline: ResolvedPipeline, cached: ReadonlyMap<string, string> = new Map(), frames?: number): RunPlan => planRun({ pipeline, identities, cached, frames });

const ALL = ['src', 'blur', 'scale', 'stats', 'side'];
const changed = (a: RunPlan, b: RunPlan) => ALL.filter((id) => a.keys.get(id) !== b.keys.get(id));

describe('canonicalJson and nodeKey', () => {
  it('sorts object keys at every level and drops undefined values', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('x')).toBe('"x"');
  });

  it('hashes to sha256 hex', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('a', 'bc')).toBe(sha256('abc'));
  });

  it('a node key does not depend on key order', () => {
    expect(nodeKey({ identity: 'i', params: { a: 1, b: 2 }, inputs: { x: 'k:x', y: 'k:y' } })).toBe(
      nodeKey({ inputs: { y: 'k:y', x: 'k:x' }, params: { b: 2, a: 1 }, identity: 'i' }),
    );
  });
});

describe('planRun: cache keys', () => {
  it('gives every node a 64-hex key, distinct across nodes', () => {
    const { keys } = plan(resolve());
    expect([...keys.keys()]).toEqual(['src', 'blur', 'side', 'scale', 'stats']);
    for (const key of keys.values()) expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(keys.values()).size).toBe(5);
  });

  it('is deterministic', () => {
    expect(plan(resolve()).keys).toEqual(plan(resolve()).keys);
  });

  it('does not depend on the order of param keys', () => {
    const a = plan(resolve({ src: { seed: 3, count: 2 }, scale: { a: 2, b: 5 } }));
    const pipeline = resolve({ src: { seed: 3, count: 2 }, scale: { a: 2, b: 5 } });
    const original = Object.keys(pipeline.document.nodes[0].params);
    for (const node of pipeline.document.nodes) node.params = Object.fromEntries(Object.entries(node.params).reverse());
    expect(Object.keys(pipeline.document.nodes[0].params)).toEqual([...original].reverse());
    expect(plan(pipeline).keys).toEqual(a.keys);
  });

  it('treats a default written out the same as a default filled in', () => {
    expect(plan(resolve({ src: { seed: 0 } })).keys).toEqual(plan(resolve()).keys);
  });

  it('computes the key from identity, params, inputs and, for sources, the frame limit', () => {
    const pipeline = resolve();
    const { keys } = plan(pipeline);
    const params = (id: string) => pipeline.document.nodes.find((n) => n.id === id)!.params;
    const src = nodeKey({ identity: 'sha256:synthetic', params: params('src'), inputs: {}, limits: { frames: null } });
    const blur = nodeKey({ identity: 'sha256:blur', params: params('blur'), inputs: { image: `${src}:image` } });
    expect(keys.get('src')).toBe(src);
    expect(keys.get('blur')).toBe(blur);
  });

  it('changing one param changes that node and everything downstream, not upstream or sibling branches', () => {
    const before = plan(resolve());
    const after = plan(resolve({ blur: { sigma: 3 } }));
    expect(changed(before, after)).toEqual(['blur', 'scale', 'stats']);
  });

  it('changing a source param changes every key', () => {
    expect(changed(plan(resolve()), plan(resolve({ src: { seed: 1 } })))).toEqual(ALL);
  });

  it('changing a leaf param changes only the leaf', () => {
    expect(changed(plan(resolve()), plan(resolve({ scale: { b: 2 } })))).toEqual(['scale', 'stats']);
  });

  it('changing an identity changes that node and everything downstream', () => {
    const pipeline = resolve();
    const other = planRun({ pipeline, identities: new Map([...identities, ['scale', 'sha256:scale-v2']]), cached: new Map() });
    expect(changed(plan(pipeline), other)).toEqual(['scale', 'stats']);
  });

  it('nodes with the same operator, params and inputs share a key', () => {
    const doc = {
      emflow: 1,
      nodes: [
        { id: 'src', operator: 'synthetic' },
        { id: 'a', operator: 'stats' },
        { id: 'b', operator: 'stats' },
      ],
      edges: [edge('src.image', 'a.image'), edge('src.image', 'b.image')],
    };
    const pipeline = checkPipeline(doc, lookup).pipeline!;
    const { keys } = planRun({ pipeline, identities: new Map([['src', 's'], ['a', 't'], ['b', 't']]), cached: new Map() });
    expect(keys.get('a')).toBe(keys.get('b'));
  });
});

describe('planRun: frame limit', () => {
  it('a frame limit enters the source key only; downstream keys change only through their inputs', () => {
    const pipeline = resolve();
    const unlimited = plan(pipeline);
    const limited = plan(pipeline, new Map(), 5);
    const params = (id: string) => pipeline.document.nodes.find((n) => n.id === id)!.params;
    expect(limited.keys.get('src')).toBe(nodeKey({ identity: 'sha256:synthetic', params: params('src'), inputs: {}, limits: { frames: 5 } }));
    expect(limited.keys.get('src')).not.toBe(unlimited.keys.get('src'));
    // no limit of their own: same formula as without a limit, fed the limited source's key
    expect(limited.keys.get('blur')).toBe(nodeKey({ identity: 'sha256:blur', params: params('blur'), inputs: { image: `${limited.keys.get('src')}:image` } }));
    expect(limited.keys.get('side')).toBe(nodeKey({ identity: 'sha256:stats', params: {}, inputs: { image: `${limited.keys.get('src')}:image` } }));
  });

  it('different limits give different source keys, the same limit the same keys', () => {
    const pipeline = resolve();
    expect(plan(pipeline, new Map(), 5).keys).toEqual(plan(pipeline, new Map(), 5).keys);
    expect(plan(pipeline, new Map(), 5).keys.get('src')).not.toBe(plan(pipeline, new Map(), 6).keys.get('src'));
  });
});

describe('planRun: execute and replay', () => {
  it('executes everything with an empty cache, in dependency order, replaying nothing', () => {
    const { execute, replay } = plan(resolve());
    expect(execute).toEqual(['src', 'blur', 'side', 'scale', 'stats']);
    expect(replay).toEqual([]);
  });

  it('executes nothing when every key is cached', () => {
    const { keys } = plan(resolve());
    const { execute, replay } = plan(resolve(), keys);
    expect(execute).toEqual([]);
    expect(replay).toEqual([]);
  });

  it('executes the nodes whose cached key differs and replays the cached nodes feeding them', () => {
    const cached = plan(resolve()).keys;
    const { execute, replay } = plan(resolve({ blur: { sigma: 5 } }), cached);
    expect(execute).toEqual(['blur', 'scale', 'stats']);
    expect(replay).toEqual(['src']);
  });

  it('replays only the direct feeders of executing nodes', () => {
    const cached = plan(resolve()).keys;
    const { execute, replay } = plan(resolve({ scale: { a: 3 } }), cached);
    expect(execute).toEqual(['scale', 'stats']);
    expect(replay).toEqual(['blur']);
  });

  it('executes a node missing from the cache even when its inputs are cached', () => {
    const keys = plan(resolve()).keys;
    const cached = new Map([...keys].filter(([id]) => id !== 'side'));
    const { execute, replay } = plan(resolve(), cached);
    expect(execute).toEqual(['side']);
    expect(replay).toEqual(['src']);
  });

  it('executes a node whose cache entry has a stale key', () => {
    const keys = plan(resolve()).keys;
    const cached = new Map([...keys, ['stats', 'stale']]);
    const { execute, replay } = plan(resolve(), cached);
    expect(execute).toEqual(['stats']);
    expect(replay).toEqual(['scale']);
  });

  it('a frame limit re-executes everything against a cache made without one', () => {
    const pipeline = resolve();
    const cached = plan(pipeline).keys;
    const { execute, replay } = plan(pipeline, cached, 3);
    expect(execute).toEqual(['src', 'blur', 'side', 'scale', 'stats']);
    expect(replay).toEqual([]);
  });
});
