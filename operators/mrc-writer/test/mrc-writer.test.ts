import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NDArray, type DType, type FrameMeta, type ProcessContext } from '@emflow/sdk';
import { edgeCases, firstDifference, readWithNumpy } from '../../../test/helpers.js';
import { MrcWriter } from '../src/index.js';
import { mrcOptionsFor } from '../src/mrc-options.js';
const scratch = mkdtempSync(join(tmpdir(), 'emflow-mrc-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const image = (meta: FrameMeta) => new NDArray(Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2), [3, 4], meta);
const volume = (meta: FrameMeta) => new NDArray(Int16Array.from({ length: 24 }, (_, i) => i * 100 - 1000), [2, 3, 4], meta);
const context = (frame: number) => ({ node: 'save', frame, alloc: () => { throw new Error('a sink allocates nothing'); } }) as unknown as ProcessContext;

describe('mrcOptionsFor', () => {
  it('turns [y, x] and [z, y, x] pixel sizes into an [x, y, z] voxel size in Å', () => {
    expect(mrcOptionsFor(image({ pixelSize: [2, 3], units: 'Å' })).voxelSize).toEqual([3, 2, 3]);
    expect(mrcOptionsFor(volume({ pixelSize: [1, 2, 3] })).voxelSize).toEqual([3, 2, 1]);
    expect(mrcOptionsFor(volume({ pixelSize: [0.1, 0.2, 0.25], units: 'nm' })).voxelSize).toEqual([2.5, 2, 1]);
  });

  it('writes 0 (unknown) without a pixel size or with pixels as units', () => {
    expect(mrcOptionsFor(image({})).voxelSize).toEqual([0, 0, 0]);
    expect(mrcOptionsFor(image({ pixelSize: [1, 1], units: 'px' })).voxelSize).toEqual([0, 0, 0]);
  });

  it('rejects unknown units and pixel sizes that do not fit the frame', () => {
    expect(() => mrcOptionsFor(image({ pixelSize: [1, 1], units: 'furlong' }))).toThrow('meta.units "furlong" is not a length unit (expected Å, nm, µm, or px for none)');
    expect(() => mrcOptionsFor(image({ pixelSize: [1, 2, 3] }))).toThrow('meta.pixelSize [1,2,3] does not fit a frame of shape [3, 4] (expected 2 sizes ≥ 0)');
  });

  it('passes on origin, the space group of volumes, and the source’s labels plus its own', () => {
    const options = mrcOptionsFor(volume({ origin: [1, 2, 3], spaceGroup: 4, labels: ['from the microscope'], source: '/data/in/EMD-3001.map' }));
    expect(options).toMatchObject({ origin: [1, 2, 3], spaceGroup: 4, labels: ['from the microscope', 'emflow mrc-writer from EMD-3001.map'] });
    expect(mrcOptionsFor(image({ spaceGroup: 1 })).spaceGroup).toBeUndefined();
    expect(mrcOptionsFor(image({ labels: Array(12).fill('old') })).labels).toEqual([...Array(9).fill('old'), 'emflow mrc-writer']);
  });
});

describe('MrcWriter operator', () => {
  it('writes numbered files that numpy reads back with the frame’s values and voxel size', () => {
    const pattern = join(scratch, '{node}/{name}-{frame:03d}.mrc');
    const writer = new MrcWriter();
    expect(writer.process({ data: image({ pixelSize: [1.5, 1.5], units: 'Å', source: '/raw/mic.tif' }) }, { path: pattern, overwrite: false }, context(0))).toEqual({});
    writer.process({ data: volume({ pixelSize: [0.3, 0.2, 0.1], units: 'nm', source: '/raw/tomo.rec', origin: [5, 6, 7], spaceGroup: 1 }) }, { path: pattern, overwrite: false }, context(7));

    const [first, second] = readWithNumpy(join(scratch, 'save/mic-000.mrc'), join(scratch, 'save/tomo-007.mrc'));
    expect(first).toMatchObject({ dtype: 'float32', shape: [1, 3, 4], meta: { mode: 2, ispg: 0, labels: ['emflow mrc-writer from mic.tif'] } });
    expect(firstDifference(first.values, image({}).data)).toBeUndefined();
    (first.meta.voxelSize as number[]).forEach((size) => expect(size).toBeCloseTo(1.5, 5));

    expect(second).toMatchObject({ dtype: 'int16', shape: [2, 3, 4], meta: { mode: 1, ispg: 1, origin: [5, 6, 7] } });
    expect(firstDifference(second.values, volume({}).data)).toBeUndefined();
    [1, 2, 3].forEach((size, i) => expect((second.meta.voxelSize as number[])[i]).toBeCloseTo(size, 5));
  });

  it('writes every MRC dtype in its mode, values exact as numpy reads them', () => {
    const modes: [DType, number][] = [['int8', 0], ['int16', 1], ['float32', 2], ['uint16', 6], ['float16', 12]];
    const arrays = modes.map(([dtype]) => {
      const data = edgeCases(dtype, [3, 2, 4]);
      new MrcWriter().process({ data }, { path: join(scratch, 'modes', `${dtype}.mrc`), overwrite: false }, context(0));
      return data;
    });
    const read = readWithNumpy(...modes.map(([dtype]) => join(scratch, 'modes', `${dtype}.mrc`)));
    modes.forEach(([dtype, mode], i) => {
      expect([read[i].dtype, read[i].shape, read[i].meta.mode], dtype).toEqual([dtype, [3, 2, 4], mode]);
      expect(firstDifference(read[i].values, arrays[i].values()), dtype).toBeUndefined();
    });
  });

  it('refuses to overwrite unless told to', () => {
    const path = join(scratch, 'same.mrc');
    const writer = new MrcWriter();
    writer.process({ data: image({}) }, { path, overwrite: false }, context(0));
    expect(() => writer.process({ data: volume({}) }, { path, overwrite: false }, context(1))).toThrow(`mrc-writer: ${path} exists (set overwrite: true to replace it)`);
    writer.process({ data: volume({}) }, { path, overwrite: true }, context(1));
    expect(readWithNumpy(path)[0]).toMatchObject({ dtype: 'int16', shape: [2, 3, 4] });
  });

  it('never writes through a symbolic link at the target, even with overwrite', () => {
    const unrelated = join(scratch, 'unrelated.txt');
    writeFileSync(unrelated, 'not an MRC file\n');
    const path = join(scratch, 'linked.mrc');
    symlinkSync(unrelated, path);
    for (const overwrite of [false, true]) {
      expect(() => new MrcWriter().process({ data: image({}) }, { path, overwrite }, context(0))).toThrow(
        `mrc-writer: ${path} is a symbolic link; emflow does not write through links (remove it or choose another path)`,
      );
    }
    expect(readFileSync(unrelated, 'utf8')).toBe('not an MRC file\n');
  });

  it('names itself, the pattern or the dtype in errors', () => {
    const writer = new MrcWriter();
    expect(() => writer.process({ data: image({}) }, { path: join(scratch, '{name}.mrc'), overwrite: false }, context(0))).toThrow(
      /^mrc-writer: name pattern ".*\{name\}\.mrc": \{name\} has no value here/,
    );
    const doubles = new NDArray(new Float64Array(4), [2, 2]);
    expect(() => writer.process({ data: doubles }, { path: join(scratch, 'f64.mrc'), overwrite: false }, context(0))).toThrow(/^mrc-writer: encodeMrc: dtype float64 cannot be written to MRC/);
  });
});
