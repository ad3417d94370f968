// Document edits, undo/redo, and what a change means for an open session.
import type { PipelineDocument } from '@emflow/engine/protocol';
import { describe, expect, it } from 'vitest';
import { addNode, loadDocument, moveNodes, removeElements, setParam, edgeKey } from '../src/model/document';
import { DocumentStore } from '../src/model/document-store';
import { History } from '../src/model/history';
import { readFileSync } from 'node:fs';
import { uniqueId } from '../src/model/ids';
import { paramChanges, structureKey } from '../src/model/session-plan';
import { REPO, realSpec } from './real-specs';

// the id pattern of the engine's own pipeline schema
const NODE_ID_PATTERN = new RegExp(JSON.parse(readFileSync(`${REPO}/engine/src/schema/pipeline.schema.json`, 'utf8')).definitions.id.pattern);

const blurStats = (): PipelineDocument =>
  loadDocument({
    emflow: 1,
    name: 'blur',
    operators: ['../my-operators'],
    nodes: [
      { id: 'src', operator: 'synthetic', params: { count: 4 }, position: { x: 0, y: 0 } },
      { id: 'blur', operator: 'gaussian-blur', params: { sigma: 2 }, position: { x: 240, y: 0 } },
    ],
    edges: [{ from: { node: 'src', port: 'image' }, to: { node: 'blur', port: 'image' } }],
  });

describe('node ids', () => {
  it('take the operator name, made unique with -2, -3 …, always matching the id pattern', () => {
    expect(uniqueId('gaussian-blur', new Set())).toBe('gaussian-blur');
    expect(uniqueId('gaussian-blur', new Set(['gaussian-blur', 'gaussian-blur-2']))).toBe('gaussian-blur-3');
    expect(uniqueId('2d.filter', new Set())).toBe('n2d-filter');
    const long = uniqueId('x'.repeat(80), new Set(['x'.repeat(64)]));
    expect(long).toBe(`${'x'.repeat(62)}-2`);
    for (const id of ['gaussian-blur-3', 'n2d-filter', long]) expect(id).toMatch(NODE_ID_PATTERN);
  });

  it('are given to new nodes with the default params', () => {
    let doc = blurStats();
    const first = addNode(doc, realSpec('gaussian-blur'), { x: 10.4, y: 20.6 });
    doc = first.doc;
    const second = addNode(doc, realSpec('gaussian-blur'), { x: 0, y: 0 });
    expect([first.id, second.id]).toEqual(['gaussian-blur', 'gaussian-blur-2']);
    expect(first.doc.nodes.at(-1)).toEqual({ id: 'gaussian-blur', operator: 'gaussian-blur', params: { sigma: 1 }, position: { x: 10, y: 21 } });
  });
});

describe('documents', () => {
  it('keep unknown top-level fields, fill params and edges, and lay out nodes without a position', () => {
    const doc = loadDocument({
      emflow: 1,
      operators: ['ops'],
      nodes: [
        { id: 'a', operator: 'synthetic' },
        { id: 'b', operator: 'stats', label: 'measure' },
      ],
      edges: [{ from: { node: 'a', port: 'image' }, to: { node: 'b', port: 'image' } }],
    });
    expect(doc.operators).toEqual(['ops']);
    expect(doc.nodes).toEqual([
      { id: 'a', operator: 'synthetic', params: {}, position: { x: 0, y: 0 } },
      { id: 'b', operator: 'stats', label: 'measure', params: {}, position: { x: 260, y: 0 } },
    ]);
    expect(loadDocument({ emflow: 1, nodes: [] }).edges).toEqual([]);
  });

  it('refuse what is no pipeline, saying plainly why', () => {
    expect(() => loadDocument([])).toThrow('not a pipeline document: expected a JSON object');
    expect(() => loadDocument({ nodes: [] })).toThrow('"emflow" must be 1');
    expect(() => loadDocument({ emflow: 1, nodes: {} })).toThrow('"nodes" must be an array');
    expect(() => loadDocument({ emflow: 1, nodes: [{ id: 3 }] })).toThrow('node 1: needs a string "id" and "operator"');
    expect(() => loadDocument({ emflow: 1, nodes: [], edges: [{ from: 'a' }] })).toThrow('edge 1: needs "from" and "to"');
  });

  it('set params as own properties, names like "__proto__" included, and clear them', () => {
    let doc = setParam(blurStats(), 'blur', '__proto__', 5);
    const params = doc.nodes[1].params;
    expect(Object.hasOwn(params, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(doc)).nodes[1].params).toEqual(JSON.parse('{"sigma":2,"__proto__":5}'));
    doc = setParam(doc, 'blur', 'sigma', undefined);
    expect(Object.keys(doc.nodes[1].params)).toEqual(['__proto__']);
  });

  it('remove nodes with their edges, and edges by key', () => {
    const doc = blurStats();
    expect(removeElements(doc, new Set(['src']), new Set()).edges).toEqual([]);
    expect(removeElements(doc, new Set(), new Set([edgeKey(doc.edges[0])])).nodes.length).toBe(2);
    expect(removeElements(doc, new Set(), new Set([edgeKey(doc.edges[0])])).edges).toEqual([]);
  });
});

describe('undo and redo', () => {
  it('History: one step per change, merged changes as one, a new change drops the redo branch', () => {
    const h = new History<number>();
    h.record(0);
    h.record(1, 'drag');
    h.record(2, 'drag');
    h.seal();
    h.record(3, 'drag');
    // states: 0 → 1 → (2) → 3 → 4 (current)
    expect(h.undo(4)).toBe(3);
    expect(h.undo(3)).toBe(1);
    expect(h.undo(1)).toBe(0);
    expect(h.undo(0)).toBeUndefined();
    expect(h.redo(0)).toBe(1);
    h.record(1);
    expect(h.canRedo).toBe(false);
  });

  it('DocumentStore: edits, slider drags as one step, undo/redo, and the saved state', () => {
    const store = new DocumentStore();
    const original = blurStats();
    store.load(original, 'blur-stats');
    expect([store.canUndo.value, store.dirty.value]).toEqual([false, false]);

    for (const sigma of [3, 4, 5]) store.edit((d) => setParam(d, 'blur', 'sigma', sigma), 'param blur sigma');
    store.seal();
    store.edit((d) => moveNodes(d, new Map([['src', { x: 5, y: 5 }]])));
    expect(store.doc.value.nodes[1].params.sigma).toBe(5);
    expect(store.dirty.value).toBe(true);

    store.undo();
    expect(store.doc.value.nodes[0].position).toEqual({ x: 0, y: 0 });
    store.undo();
    // the whole drag undone at once
    expect(store.doc.value).toBe(original);
    expect([store.dirty.value, store.canUndo.value, store.canRedo.value]).toEqual([false, false, true]);
    store.redo();
    expect(store.doc.value.nodes[1].params.sigma).toBe(5);
    store.markSaved('blur-stats');
    expect(store.dirty.value).toBe(false);
    // an edit that changes nothing is no step
    store.edit((d) => d);
    store.undo();
    expect(store.doc.value).toBe(original);
  });
});

describe('session planning', () => {
  it('a change of params keeps the structure; nodes, operators, edges and operator folders change it; positions do not', () => {
    const doc = blurStats();
    const key = structureKey(doc);
    expect(structureKey(setParam(doc, 'blur', 'sigma', 9))).toBe(key);
    expect(structureKey(moveNodes(doc, new Map([['blur', { x: 1, y: 1 }]])))).toBe(key);
    expect(structureKey(removeElements(doc, new Set(), new Set([edgeKey(doc.edges[0])])))).not.toBe(key);
    expect(structureKey({ ...doc, nodes: doc.nodes.map((n) => (n.id === 'blur' ? { ...n, operator: 'bin' } : n)) })).not.toBe(key);
    expect(structureKey({ ...doc, operators: [] })).not.toBe(key);
    expect(structureKey(addNode(doc, realSpec('stats'), { x: 0, y: 0 }).doc)).not.toBe(key);
  });

  it('lists the params set and cleared, node by node', () => {
    const before = blurStats();
    const after = setParam(setParam(setParam(before, 'blur', 'sigma', 3), 'src', 'seed', 1), 'src', 'count', undefined);
    expect(paramChanges(before, after)).toEqual([
      { node: 'src', set: new Map([['seed', 1]]), cleared: ['count'] },
      { node: 'blur', set: new Map([['sigma', 3]]), cleared: [] },
    ]);
    expect(paramChanges(before, setParam(before, 'blur', 'sigma', 2))).toEqual([]);
  });
});
