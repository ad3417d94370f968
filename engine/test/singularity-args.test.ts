// The pure parts of the singularity runtime: what a job step asks Slurm for, which limits Apptainer is given,
// and reading `apptainer inspect --labels --json` of both layouts.
import { describe, expect, it } from 'vitest';
import type { OperatorSpec } from '@emflow/sdk';
import { containerLimits, labelsOf, stepResources } from '../src/runtime/singularity.js';
import { specFromLabel } from '../src/runtime/image-spec.js';

const spec = (resources?: OperatorSpec['resources']): OperatorSpec => ({ name: 'x', version: '1.0.0', description: 'x', outputs: {}, resources });

describe('singularity runtime arguments', () => {
  it('asks Slurm for the spec resources: CPUs rounded up, memory in MiB, GPUs as gres; one CPU by default', () => {
    expect(stepResources(spec())).toEqual(['--cpus-per-task=1']);
    expect(stepResources(spec({ cpus: 2.5, memory: '1.5g', gpu: 1 }))).toEqual(['--cpus-per-task=3', '--mem=1536M', '--gres=gpu:1']);
    expect(stepResources(spec({ memory: 1000 }))).toEqual(['--cpus-per-task=1', '--mem=1M']);
  });

  it('gives Apptainer memory and CPU limits only where it can apply them (root, or cgroups v2)', () => {
    const limited = spec({ memory: '512m', cpus: 1 });
    expect(containerLimits(limited, true, false)).toEqual(['--memory', String(512 * 2 ** 20), '--cpus', '1']);
    expect(containerLimits(limited, false, true)).toEqual(['--memory', String(512 * 2 ** 20), '--cpus', '1']);
    expect(containerLimits(limited, false, false)).toEqual([]);
    expect(containerLimits(spec(), true, true)).toEqual([]);
  });

  it('reads labels from both inspect layouts, and says why a label is no spec', () => {
    expect(labelsOf('{"data":{"attributes":{"labels":{"a":"1"}}},"type":"container"}')).toEqual({ a: '1' });
    expect(labelsOf('{"labels":{"b":"2"}}')).toEqual({ b: '2' });
    expect(specFromLabel(undefined)).toEqual({ problem: expect.stringContaining('no emflow.operator label') });
    expect(specFromLabel('{nope')).toEqual({ problem: 'label emflow.operator is not JSON' });
    expect(specFromLabel('{"name":"x"}')).toEqual({ problem: expect.stringContaining('invalid spec') });
  });
});
