// Operator specs shared by the engine unit tests: copies of the example operators' interfaces plus a few
// made-up operators that exercise port types, optional inputs and required params.
import type { OperatorSpec, PortType } from '@emflow/sdk';

export const synthetic: OperatorSpec = {
  name: 'synthetic',
  version: '1.0.0',
  description: 'Deterministic source of float32 test images.',
  outputs: { image: { type: 'image2d', description: 'float32 image, height × width' } },
  params: {
    pattern: { type: 'string', enum: ['noise', 'gaussian-blobs', 'lattice'], default: 'noise', description: 'what to draw' },
    width: { type: 'integer', minimum: 1, maximum: 32768, default: 512, units: 'px', description: 'image width' },
    height: { type: 'integer', minimum: 1, maximum: 32768, default: 512, units: 'px', description: 'image height' },
    count: { type: 'integer', minimum: 1, default: 1, description: 'frames to emit' },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295, default: 0, description: 'random seed' },
  },
  display: { category: 'source' },
};

export const gaussianBlur: OperatorSpec = {
  name: 'gaussian-blur',
  version: '1.0.0',
  description: 'Gaussian blur of a 2-D image.',
  inputs: { image: { type: 'image2d', description: 'image of any dtype' } },
  outputs: { image: { type: 'image2d', description: 'blurred float32 image, same shape' } },
  params: {
    sigma: { type: 'number', minimum: 0, maximum: 1000, default: 1, units: 'px', description: 'standard deviation of the Gaussian' },
  },
  display: { category: 'filter' },
};

export const scale: OperatorSpec = {
  name: 'scale',
  version: '1.0.0',
  description: 'Linear intensity transform y = a·x + b.',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: { image: { type: 'ndarray', sameAs: 'image', description: 'float32 array, same shape as the input' } },
  params: {
    a: { type: 'number', default: 1, description: 'gain' },
    b: { type: 'number', default: 0, description: 'offset' },
  },
  display: { category: 'intensity' },
};

/** `scale` without sameAs: its output is a plain ndarray whatever feeds it. */
export const scalePlain: OperatorSpec = {
  ...scale,
  name: 'scale-plain',
  outputs: { image: { type: 'ndarray' } },
};

export const stats: OperatorSpec = {
  name: 'stats',
  version: '1.0.0',
  description: 'Per-frame statistics of an array.',
  inputs: { image: { type: 'ndarray', description: 'array of any shape and dtype' } },
  outputs: { stats: { type: 'json', description: '{ mean, std, min, max, sum }' } },
  display: { category: 'measure' },
};

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
