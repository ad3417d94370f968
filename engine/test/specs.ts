// Operator specs shared by the engine unit tests: the shipped operators' own specs plus a few
// made-up operators that exercise port types, optional inputs and required params.
import { operatorDefinition, type OperatorSpec, type PortType } from '@emflow/sdk';
import '../../operators/synthetic/src/index.js';
import '../../operators/gaussian-blur/src/index.js';
import '../../operators/scale/src/index.js';
import '../../operators/stats/src/index.js';

// the shipped operators' own specs, read from the decorator registry (no copies)
const shipped = (name: string): OperatorSpec => operatorDefinition(name)!.spec;
export const synthetic = shipped('synthetic');
export const gaussianBlur = shipped('gaussian-blur');
export const scale = shipped('scale');

/** `scale` without sameAs: its output is a plain ndarray whatever feeds it. */
export const scalePlain: OperatorSpec = {
  ...scale,
  name: 'scale-plain',
  outputs: { image: { type: 'ndarray' } },
};

export const stats = shipped('stats');

/** One output of every port type. */
export const everything: OperatorSpec = {
  name: 'everything',
  version: '1.0.0',
  description: 'A source with one output of every port type.',
  outputs: Object.fromEntries(
    (['ndarray', 'image2d', 'volume3d', 'stack', 'spectrum', 'table', 'scalar', 'json'] as const).map((t) => [t, { type: t }]),
  ),
};

const sinkOf = (type: PortType): OperatorSpec => ({
  name: `sink-${type}`,
  version: '1.0.0',
  description: `Consumes a ${type}.`,
  inputs: { x: { type } },
  outputs: { done: { type: 'scalar' } },
});
export const sinkNdarray = sinkOf('ndarray');
export const sinkJson = sinkOf('json');
export const sinkImage2d = sinkOf('image2d');

/** Two inputs, the second optional. */
export const merge: OperatorSpec = {
  name: 'merge',
  version: '1.0.0',
  description: 'Merges a with an optional b.',
  inputs: { a: { type: 'ndarray' }, b: { type: 'ndarray', required: false } },
  outputs: { out: { type: 'ndarray', sameAs: 'a' } },
};

/** Params without defaults: one required, one optional. */
export const reader: OperatorSpec = {
  name: 'reader',
  version: '1.0.0',
  description: 'Reads a file.',
  outputs: { image: { type: 'image2d' } },
  params: {
    path: { type: 'string', path: 'read' },
    limit: { type: 'integer', optional: true },
    verbose: { type: 'boolean', default: false },
  },
};

export const ALL_SPECS: readonly OperatorSpec[] = [
  synthetic,
  gaussianBlur,
  scale,
  scalePlain,
  stats,
  everything,
  sinkNdarray,
  sinkJson,
  sinkImage2d,
  merge,
  reader,
];

export const lookup = (name: string): OperatorSpec | undefined => ALL_SPECS.find((s) => s.name === name);
