// What a container gets mounted and how much memory it may use: pure functions of the spec and params.
import { describe, expect, it } from 'vitest';
import type { OperatorSpec } from '@emflow/sdk';
import { dataBinds, memoryBytes } from '../src/runtime/binds.js';

const spec: OperatorSpec = {
  name: 'convert',
  version: '1.0.0',
  description: 'reads one file, writes numbered files',
  outputs: {},
  params: {
    path: { type: 'string', path: 'read' },
    folder: { type: 'string', path: 'read', optional: true },
    out: { type: 'string', path: 'write' },
    sigma: { type: 'number', default: 1 },
  },
};

describe('dataBinds', () => {
  it('mounts read paths read-only and the folder a name pattern writes into read-write, nothing else', () => {
    expect(dataBinds(spec, { path: '/data/in/EMD-3001.map', out: '/results/run1/frame-{frame:04d}.png', sigma: 2 })).toEqual([
      '/data/in/EMD-3001.map:/data/in/EMD-3001.map:ro',
      '/results/run1:/results/run1:rw',
    ]);
  });

  it('mounts a read folder as it is and skips params that are not set', () => {
    expect(dataBinds(spec, { folder: '/data/micrographs', out: '/results/out.mrc' })).toEqual(['/data/micrographs:/data/micrographs:ro', '/results:/results:rw']);
  });

  it('mounts the folder of a glob in a read path', () => {
    expect(dataBinds(spec, { path: '/data/micrographs/*.mrc', out: '/r/x.mrc' })).toEqual(['/data/micrographs:/data/micrographs:ro', '/r:/r:rw']);
  });
});

describe('memoryBytes', () => {
  it.each([
    [1048576, 1048576],
    ['512', 512],
    ['64k', 65536],
    ['64m', 67108864],
    ['1.5g', 1610612736],
    ['2G', 2147483648],
  ])('%s', (input, bytes) => expect(memoryBytes(input)).toBe(bytes));
});
