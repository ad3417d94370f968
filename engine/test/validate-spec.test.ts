import type { OperatorSpec } from '@emflow/sdk';
import { describe, expect, it } from 'vitest';
import { paramSchema, validateSpec } from '../src/validate/spec.js';
import { ALL_SPECS, gaussianBlur, scale, synthetic } from './specs.js';

const PORT_TYPES = '"ndarray", "image2d", "volume3d", "stack", "spectrum", "table", "scalar", "json"';

const base: OperatorSpec = {
  name: 'blur',
  version: '1.0.0',
  description: 'a blur',
  inputs: { image: { type: 'image2d' } },
  outputs: { image: { type: 'image2d' } },
};

const withSpec = (patch: Record<string, unknown>) => validateSpec({ ...base, ...patch });

describe('validateSpec: valid specs', () => {
  it.each(ALL_SPECS.map((s) => [s.name, s] as const))('the %s spec is valid', (_name, spec) => {
    expect(validateSpec(spec)).toEqual([]);
  });

  it('accepts a minimal source spec', () => {
    expect(validateSpec({ name: 'a', version: '0.1', description: 'x', outputs: {} })).toEqual([]);
  });

  it('accepts prerelease and build versions', () => {
    expect(withSpec({ version: '1.2.3-rc.1' })).toEqual([]);
    expect(withSpec({ version: '1.2.3+build.5' })).toEqual([]);
  });

  it('accepts resources given as bytes or with a unit', () => {
    expect(withSpec({ resources: { cpus: 0.5, memory: '512m', gpu: 0 } })).toEqual([]);
    expect(withSpec({ resources: { memory: 1024 } })).toEqual([]);
  });

  it('does not modify the spec it checks', () => {
    const spec = structuredClone(synthetic);
    validateSpec(spec);
    expect(spec).toEqual(synthetic);
  });
});

describe('validateSpec: schema problems', () => {
  it('reports a name that does not match the pattern', () => {
    expect(withSpec({ name: 'Gaussian_Blur' })).toEqual([{ pointer: '/name', message: '"Gaussian_Blur" does not match ^[a-z][a-z0-9-]{0,63}$' }]);
    expect(withSpec({ name: '9lives' })).toEqual([{ pointer: '/name', message: '"9lives" does not match ^[a-z][a-z0-9-]{0,63}$' }]);
  });

  it('reports a bad version', () => {
    expect(withSpec({ version: 'v1' })).toEqual([{ pointer: '/version', message: '"v1" does not match ^\\d+\\.\\d+(\\.\\d+)?([-+][0-9A-Za-z.-]+)?$' }]);
  });

  it('reports missing required fields', () => {
    expect(validateSpec({ name: 'x', version: '1.0' })).toEqual([
      { pointer: '', message: 'missing required field "description"' },
      { pointer: '', message: 'missing required field "outputs"' },
    ]);
  });

  it('reports an empty description', () => {
    expect(withSpec({ description: '' })).toEqual([{ pointer: '/description', message: 'must NOT have fewer than 1 characters, got ""' }]);
  });

  it('reports a bad port type', () => {
    expect(withSpec({ outputs: { image: { type: 'image' } } })).toEqual([{ pointer: '/outputs/image/type', message: `expected one of ${PORT_TYPES}; got "image"` }]);
    expect(withSpec({ inputs: { image: { type: 'matrix' } } })).toEqual([{ pointer: '/inputs/image/type', message: `expected one of ${PORT_TYPES}; got "matrix"` }]);
  });

  it('reports a port without a type', () => {
    expect(withSpec({ inputs: { image: { description: 'x' } } })).toEqual([{ pointer: '/inputs/image', message: 'missing required field "type"' }]);
  });

  it('reports a bad param type', () => {
    expect(withSpec({ params: { sigma: { type: 'float' } } })).toEqual([
      { pointer: '/params/sigma/type', message: 'expected one of "number", "integer", "string", "boolean"; got "float"' },
    ]);
  });

  it('reports an unknown top-level field', () => {
    expect(withSpec({ colour: 'red' })).toEqual([{ pointer: '/colour', message: 'unknown field "colour"' }]);
  });

  it('reports unknown fields of ports, params and resources', () => {
    expect(withSpec({ outputs: { image: { type: 'image2d', dtype: 'float32' } } })).toEqual([{ pointer: '/outputs/image/dtype', message: 'unknown field "dtype"' }]);
    expect(withSpec({ params: { sigma: { type: 'number', step: 0.1 } } })).toEqual([{ pointer: '/params/sigma/step', message: 'unknown field "step"' }]);
    expect(withSpec({ resources: { disk: '1g' } })).toEqual([{ pointer: '/resources/disk', message: 'unknown field "disk"' }]);
  });

  it('reports non-positive cpus', () => {
    expect(withSpec({ resources: { cpus: 0 } })).toEqual([{ pointer: '/resources/cpus', message: 'expected a value > 0, got 0' }]);
  });

  it('reports an empty enum', () => {
    expect(withSpec({ params: { mode: { type: 'string', enum: [] } } })).toEqual([{ pointer: '/params/mode/enum', message: 'must NOT have fewer than 1 items, got []' }]);
  });

  it('reports a bad port name', () => {
    expect(withSpec({ inputs: { '1st': { type: 'image2d' } } })).toContainEqual({ pointer: '/inputs', message: '"1st" does not match ^[A-Za-z_][A-Za-z0-9_]{0,63}$' });
  });
});

describe('validateSpec: rules beyond the schema', () => {
  it('reports a sameAs that names no input port', () => {
    expect(withSpec({ outputs: { image: { type: 'image2d', sameAs: 'source' } } })).toEqual([{ pointer: '/outputs/image/sameAs', message: '"source" is not an input port' }]);
  });

  it('reports a sameAs naming another output, not an input', () => {
    const spec = { ...base, outputs: { image: { type: 'image2d' }, copy: { type: 'image2d', sameAs: 'copy' } } };
    expect(validateSpec(spec)).toEqual([{ pointer: '/outputs/copy/sameAs', message: '"copy" is not an input port' }]);
  });

  it('reports a sameAs on an operator with no inputs', () => {
    expect(validateSpec({ ...synthetic, outputs: { image: { type: 'image2d', sameAs: 'image' } } })).toEqual([
      { pointer: '/outputs/image/sameAs', message: '"image" is not an input port' },
    ]);
  });

  it('reports a sameAs output whose declared type cannot carry its input', () => {
    const spec = { ...base, inputs: { image: { type: 'ndarray' } }, outputs: { image: { type: 'image2d', sameAs: 'image' } } };
    expect(validateSpec(spec)).toEqual([{ pointer: '/outputs/image/type', message: 'image2d cannot carry what input "image" accepts (ndarray)' }]);
  });

  it('accepts a sameAs output of the wider type', () => {
    expect(validateSpec(scale)).toEqual([]);
    expect(validateSpec({ ...base, outputs: { image: { type: 'ndarray', sameAs: 'image' } } })).toEqual([]);
  });

  it('reports a default outside minimum / maximum', () => {
    expect(withSpec({ params: { sigma: { type: 'number', minimum: 0, maximum: 10, default: 20 } } })).toEqual([
      { pointer: '/params/sigma/default', message: "default 20 does not satisfy the param's own type and bounds" },
    ]);
    expect(withSpec({ params: { sigma: { type: 'number', minimum: 0, default: -0.5 } } })).toEqual([
      { pointer: '/params/sigma/default', message: "default -0.5 does not satisfy the param's own type and bounds" },
    ]);
    expect(withSpec({ params: { sigma: { type: 'number', exclusiveMinimum: 0, default: 0 } } })).toEqual([
      { pointer: '/params/sigma/default', message: "default 0 does not satisfy the param's own type and bounds" },
    ]);
  });

  it('reports a default of the wrong type or outside the enum', () => {
    expect(withSpec({ params: { n: { type: 'integer', default: 1.5 } } })).toEqual([
      { pointer: '/params/n/default', message: "default 1.5 does not satisfy the param's own type and bounds" },
    ]);
    expect(withSpec({ params: { n: { type: 'number', default: '1' } } })).toEqual([
      { pointer: '/params/n/default', message: 'default "1" does not satisfy the param\'s own type and bounds' },
    ]);
    expect(withSpec({ params: { mode: { type: 'string', enum: ['a', 'b'], default: 'c' } } })).toEqual([
      { pointer: '/params/mode/default', message: 'default "c" does not satisfy the param\'s own type and bounds' },
    ]);
  });

  it('accepts a default on the bounds', () => {
    expect(withSpec({ params: { sigma: { type: 'number', minimum: 0, maximum: 10, default: 10 } } })).toEqual([]);
  });

  it('names the param in the pointer', () => {
    expect(withSpec({ params: { my_sigma: { type: 'number', maximum: 1, default: 2 } } })).toEqual([
      { pointer: '/params/my_sigma/default', message: "default 2 does not satisfy the param's own type and bounds" },
    ]);
  });

  it('reports every problem at once', () => {
    const spec = {
      ...base,
      inputs: { image: { type: 'ndarray' } },
      outputs: { a: { type: 'image2d', sameAs: 'image' }, b: { type: 'image2d', sameAs: 'nothing' } },
      params: { x: { type: 'integer', minimum: 1, default: 0 }, y: { type: 'boolean', default: true } },
    };
    expect(validateSpec(spec)).toEqual([
      { pointer: '/outputs/a/type', message: 'image2d cannot carry what input "image" accepts (ndarray)' },
      { pointer: '/outputs/b/sameAs', message: '"nothing" is not an input port' },
      { pointer: '/params/x/default', message: "default 0 does not satisfy the param's own type and bounds" },
    ]);
  });
});

describe('paramSchema', () => {
  it('keeps the validation keywords and the default, and leaves annotations out', () => {
    expect(paramSchema(gaussianBlur.params!.sigma)).toEqual({ type: 'number', minimum: 0, maximum: 1000, default: 1 });
    expect(paramSchema(synthetic.params!.pattern)).toEqual({ type: 'string', enum: ['noise', 'gaussian-blobs', 'lattice'], default: 'noise' });
    expect(paramSchema({ type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, units: 'Å', optional: true, path: 'read' })).toEqual({
      type: 'number',
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
    });
  });

  it('copies the enum rather than sharing it', () => {
    const param = { type: 'string' as const, enum: ['a'] };
    expect(paramSchema(param).enum).not.toBe(param.enum);
  });
});
