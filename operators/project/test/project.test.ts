import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '@emflow/sdk';
import { axisLayout, withoutAxis, type VolumeAxis } from '@emflow/sdk';
import { projectInto, type ProjectionMode } from '../src/project.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const readNpy = (file: string) => decodeNpy(readFileSync(fixtureDir + file), file);
const cases = JSON.parse(readFileSync(`${fixtureDir}cases.json`, 'utf8')) as {
  name: string;
  input: string;
  params: { axis: VolumeAxis; mode: ProjectionMode };
  expected: string;
}[];

function project(src: ArrayLike<number>, shape: readonly number[], axis: VolumeAxis, mode: ProjectionMode) {
  const layout = axisLayout('project', 'volume', shape, axis);
  const data = new Float32Array(layout.remaining.reduce((a, b) => a * b, 1));
  projectInto(src, layout, mode, data);
  return { shape: layout.remaining, data };
}

describe('project vs numpy (float64 reduction, rounded to float32)', () => {
  it('has the expected fixture set', () => {
    expect(cases).toHaveLength(27);
  });

  for (const { name, input, params, expected } of cases) {
    it(name, () => {
      const volume = readNpy(input);
      const reference = readNpy(expected);
      const ours = project(volume.data, volume.shape, params.axis, params.mode);
      expect(ours.shape).toEqual(reference.shape);
      const want = reference.data as Float32Array;
      if (params.mode === 'max') {
        expect(ours.data).toEqual(want);
        return;
      }
      // Summation order may differ from numpy's pairwise sum: at most one float32 ulp after rounding.
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i])) expect(ours.data[i]).toBeNaN();
        else expect(Math.abs(ours.data[i] - want[i])).toBeLessThanOrEqual(2 ** -23 * Math.abs(want[i]));
      }
    });
  }
});

describe('projectInto', () => {
  it('keeps NaN in a maximum wherever it appears along the ray', () => {
    // three rays along z of length 3, NaN first, middle and last
    const volume = Float32Array.of(NaN, 1, 2, 5, NaN, 0, 3, 4, NaN);
    expect(Array.from(project(volume, [3, 1, 3], 'z', 'max').data)).toEqual([NaN, NaN, NaN]);
    expect(Array.from(project(Float32Array.of(-Infinity, -Infinity), [2, 1, 1], 'z', 'max').data)).toEqual([-Infinity]);
  });

  it('gives an empty image for a volume empty across the projection, and refuses an empty projected axis', () => {
    expect(project(new Float32Array(0), [4, 0, 3], 'z', 'sum').shape).toEqual([0, 3]);
    expect(() => project(new Float32Array(0), [0, 2, 3], 'z', 'sum')).toThrow(
      'project: the volume has no elements along axis z to project (shape [0, 2, 3])',
    );
  });

  it('rejects a dst of the wrong size', () => {
    const layout = axisLayout('project', 'volume', [2, 2, 2], 'x');
    expect(() => projectInto(new Float32Array(8), layout, 'sum', new Float32Array(3))).toThrow('project: dst length 3 does not match [2, 2]');
  });
});

describe('axisLayout', () => {
  it('rejects arrays that are not 3-D, naming the port and shape', () => {
    expect(() => axisLayout('project', 'volume', [4, 5], 'z')).toThrow('project: port "volume" must be a 3-D volume [z, y, x], got a 2-D array of shape [4, 5]');
    expect(() => axisLayout('project', 'volume', [1, 2, 3, 4], 'z')).toThrow(/got a 4-D array/);
  });

  it('rejects unknown axes', () => {
    expect(() => axisLayout('project', 'volume', [1, 2, 3], 'w' as VolumeAxis)).toThrow('project: axis (w) must be one of z, y, x');
  });

  it('drops the projected axis from the pixel size', () => {
    const meta = { pixelSize: [3, 2, 1], units: 'Å' };
    expect(withoutAxis(meta, axisLayout('project', 'volume', [1, 1, 1], 'y').axis)).toEqual({ pixelSize: [3, 1] });
    expect(withoutAxis({ units: 'Å' }, 0)).toEqual({});
  });
});
