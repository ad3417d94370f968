// Problems found by the engine, placed on the nodes, params and edges their pointers name.
import type { PipelineDocument } from '@emflow/engine/protocol';
import { describe, expect, it } from 'vitest';
import { edgeKey } from '../src/model/document';
import { indexLocated, locateProblems, pointerSegments } from '../src/model/problems';

const doc: PipelineDocument = JSON.parse(`{
  "emflow": 1,
  "nodes": [
    { "id": "__proto__", "operator": "synthetic", "params": {} },
    { "id": "constructor", "operator": "gaussian-blur", "params": { "sigma": -1 } },
    { "id": "a/b", "operator": "crop", "params": {} }
  ],
  "edges": [
    { "from": { "node": "__proto__", "port": "image" }, "to": { "node": "constructor", "port": "image" } },
    { "from": { "node": "constructor", "port": "image" }, "to": { "node": "a/b", "port": "image" } }
  ]
}`);

describe('problem mapping', () => {
  it('unescapes pointer segments', () => {
    expect(pointerSegments('/nodes/2/params/a~1b~0c')).toEqual(['nodes', '2', 'params', 'a/b~c']);
    expect(pointerSegments('')).toEqual([]);
  });

  it('puts each problem on its node, param, edge or the document, by own keys only', () => {
    const index = indexLocated(
      locateProblems(
      [
        { pointer: '/nodes/1/params/sigma', message: 'expected a value >= 0, got -1' },
        { pointer: '/nodes/0/params/toString', message: 'unknown param "toString" of synthetic' },
        { pointer: '/nodes/2/params', message: 'missing required field "width"' },
        { pointer: '/nodes/0', message: 'duplicate id' },
        { pointer: '/edges/1', message: 'type mismatch' },
        { pointer: '/edges/9', message: 'an edge that is not there' },
        { pointer: '/nodes/7/operator', message: 'a node that is not there' },
        { pointer: '', message: 'the document is empty' },
        ],
        doc,
      ),
    );
    expect([...index.nodes.keys()]).toEqual(['constructor', '__proto__', 'a/b']);
    expect(index.nodes.get('__proto__')!.map((p) => p.message)).toEqual(['unknown param "toString" of synthetic', 'duplicate id']);
    expect(index.params.get('constructor')!.get('sigma')![0].message).toBe('expected a value >= 0, got -1');
    expect(index.params.get('__proto__')!.get('toString')![0].pointer).toBe('/nodes/0/params/toString');
    // a required param the document lacks is reported at /params: it belongs at that param's field
    expect(index.params.get('a/b')!.get('width')![0].message).toBe('missing required field "width"');
    expect(index.params.get('constructor')!.has('constructor')).toBe(false);
    expect([...index.edges.keys()]).toEqual([edgeKey(doc.edges[1])]);
    expect(index.document.map((p) => p.message)).toEqual(['an edge that is not there', 'a node that is not there', 'the document is empty']);
    // nothing leaked onto the prototype chain
    expect(({} as Record<string, unknown>).sigma).toBeUndefined();
  });

  it('says where, in words, for the problems panel', () => {
    const located = locateProblems(
      [
        { pointer: '/nodes/1/params/sigma', message: 'x' },
        { pointer: '/edges/0/to/port', message: 'y' },
        { pointer: '/name', message: 'z' },
      ],
      doc,
    );
    expect(located.map((p) => p.where)).toEqual(['constructor › params › sigma', '__proto__.image → constructor.image', '/name']);
  });
});
