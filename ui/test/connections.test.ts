// Typed connections with the engine's own accepts table and the shipped specs: what may feed what, the reason
// shown when refused, and sameAs outputs taking the type of what feeds their input.
import type { PipelineDocument } from '@emflow/engine/protocol';
import { describe, expect, it } from 'vitest';
import { connectionProblem, outputTypes } from '../src/model/connections';
import { connect } from '../src/model/document';
import { realAccepts, specMap } from './real-specs';

const accepts = realAccepts();
const specs = specMap();
const doc = (nodes: [string, string][], edges: [string, string, string, string][] = []): PipelineDocument => ({
  emflow: 1,
  nodes: nodes.map(([id, operator]) => ({ id, operator, params: {} })),
  edges: edges.map(([a, ap, b, bp]) => ({ from: { node: a, port: ap }, to: { node: b, port: bp } })),
});
const problem = (d: PipelineDocument, source: string, sourceHandle: string, target: string, targetHandle: string) =>
  connectionProblem({ source, sourceHandle, target, targetHandle }, d, specs, accepts);

describe('the accepts table', () => {
  it('is the engine rule: ndarray takes every array type, json takes scalar, the rest only themselves', () => {
    expect([...accepts.ndarray].sort()).toEqual(['image2d', 'ndarray', 'spectrum', 'stack', 'volume3d']);
    expect([...accepts.json].sort()).toEqual(['json', 'scalar']);
    expect(accepts.image2d).toEqual(['image2d']);
  });
});

describe('connection rules', () => {
  const d = doc([
    ['tiff', 'tiff-reader'],
    ['mrc', 'mrc-reader'],
    ['blur', 'gaussian-blur'],
    ['stats', 'stats'],
    ['hist', 'histogram'],
    ['plot', 'plot-view'],
  ]);

  it('accepts an image2d output into an ndarray input, and into an image2d input', () => {
    expect(problem(d, 'tiff', 'image', 'stats', 'image')).toBeUndefined();
    expect(problem(d, 'mrc', 'section', 'blur', 'image')).toBeUndefined();
    expect(problem(d, 'mrc', 'volume', 'stats', 'image')).toBeUndefined();
  });

  it('refuses volume3d into image2d, saying why', () => {
    expect(problem(d, 'mrc', 'volume', 'blur', 'image')).toBe('volume3d → image2d: image2d input does not accept volume3d');
    expect(problem(d, 'tiff', 'stack', 'blur', 'image')).toBe('stack → image2d: image2d input does not accept stack');
    expect(problem(d, 'hist', 'histogram', 'blur', 'image')).toBe('table → image2d: image2d input does not accept table');
    expect(problem(d, 'hist', 'histogram', 'plot', 'table')).toBeUndefined();
    expect(problem(d, 'blur', 'image', 'plot', 'spectrum')).toBe('image2d → spectrum: spectrum input does not accept image2d');
  });

  it('refuses self-loops, cycles, unknown ports and connections without ports', () => {
    const chain = doc(
      [
        ['a', 'gaussian-blur'],
        ['b', 'gaussian-blur'],
      ],
      [['a', 'image', 'b', 'image']],
    );
    expect(problem(chain, 'a', 'image', 'a', 'image')).toBe('a node cannot feed itself');
    expect(problem(chain, 'b', 'image', 'a', 'image')).toBe('this edge would make a cycle');
    expect(problem(chain, 'a', 'nope', 'b', 'image')).toBe('unknown port');
    expect(connectionProblem({ source: 'a', target: 'b', targetHandle: 'image' }, chain, specs, accepts)).toBe('connect an output to an input');
  });

  it('an input takes one edge: connecting a second replaces the first', () => {
    const two = connect(connect(d, { from: { node: 'tiff', port: 'image' }, to: { node: 'blur', port: 'image' } }), { from: { node: 'mrc', port: 'section' }, to: { node: 'blur', port: 'image' } });
    expect(two.edges).toEqual([{ from: { node: 'mrc', port: 'section' }, to: { node: 'blur', port: 'image' } }]);
  });
});

describe('sameAs outputs', () => {
  it('take the type of what feeds their input, through chains, and their declared type unconnected', () => {
    const d = doc(
      [
        ['mrc', 'mrc-reader'],
        ['bin', 'bin'],
        ['norm', 'normalize'],
        ['lone', 'scale'],
        ['blur', 'gaussian-blur'],
      ],
      [
        ['mrc', 'volume', 'bin', 'image'],
        ['bin', 'image', 'norm', 'image'],
      ],
    );
    const types = outputTypes(d, specs);
    expect(types.get('bin')?.get('image')).toBe('volume3d');
    expect(types.get('norm')?.get('image')).toBe('volume3d');
    expect(types.get('lone')?.get('image')).toBe('ndarray');
    // so a binned volume cannot feed a 2-D blur, while a binned section can
    expect(problem(d, 'norm', 'image', 'blur', 'image')).toBe('volume3d → image2d: image2d input does not accept volume3d');
    const sections = connect(d, { from: { node: 'mrc', port: 'section' }, to: { node: 'bin', port: 'image' } });
    expect(outputTypes(sections, specs).get('norm')?.get('image')).toBe('image2d');
    expect(problem(sections, 'norm', 'image', 'blur', 'image')).toBeUndefined();
  });

  it('end on a cycle with their declared type instead of looping', () => {
    const d = doc(
      [
        ['a', 'scale'],
        ['b', 'scale'],
      ],
      [
        ['a', 'image', 'b', 'image'],
        ['b', 'image', 'a', 'image'],
      ],
    );
    expect(outputTypes(d, specs).get('a')?.get('image')).toBe('ndarray');
  });

  it('treat node ids that objects inherit as plain names', () => {
    const d = doc(
      [
        ['__proto__', 'mrc-reader'],
        ['constructor', 'bin'],
      ],
      [['__proto__', 'volume', 'constructor', 'image']],
    );
    expect(outputTypes(d, specs).get('constructor')?.get('image')).toBe('volume3d');
    expect(problem(d, 'constructor', 'toString', '__proto__', 'image')).toBe('unknown port');
  });
});
