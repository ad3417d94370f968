import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceStats } from '../../test/helpers.js';
import { NDArray, type DType } from '@emflow/sdk';
import { decodeMrc, decodeMrcInto, encodeMrc, readMrcLayout } from '../src/mrc.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const script = `${fixtureDir}make_fixtures.py`;
const dataDir = fileURLToPath(new URL('../../data/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'emflow-mrc-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Stats {
  mean: number;
  std: number;
  min: number;
  max: number;
  sum: number;
}
interface RealMap {
  file: string;
  shape: number[];
  dtype: DType;
  nx: number;
  ny: number;
  nz: number;
  mode: number;
  mapc: number;
  mapr: number;
  maps: number;
  ispg: number;
  nsymbt: number;
  cella: number[];
  voxelSize: number[];
  origin: number[];
  dmin: number;
  dmax: number;
  dmean: number;
  rms: number;
  labels: string[];
  stats: Stats;
  samples: { at: [number, number, number]; value: number }[];
}
interface NumpyRead extends Omit<RealMap, 'file' | 'dtype' | 'samples'> {
  values: number[];
  nversion: number;
  stamp: string;
  machst: number[];
}

const realMaps = JSON.parse(readFileSync(`${fixtureDir}maps.json`, 'utf8')) as RealMap[];
const modes = JSON.parse(readFileSync(`${fixtureDir}modes.json`, 'utf8')) as Record<string, { mode: number; shape: number[]; values: number[] }>;
const readFixture = (name: string) => readFileSync(fixtureDir + name);


/** |ours − numpy| within float32 precision of the data's scale. */
function expectStatsClose(ours: Stats, numpy: Stats): void {
  const scale = Math.max(Math.abs(numpy.min), Math.abs(numpy.max));
  expect(Math.abs(ours.mean - numpy.mean)).toBeLessThanOrEqual(1e-7 * scale);
  expect(Math.abs(ours.std - numpy.std)).toBeLessThanOrEqual(1e-7 * scale);
  expect(Math.abs(ours.sum - numpy.sum)).toBeLessThanOrEqual(1e-7 * Math.abs(numpy.sum) + 1e-9);
  expect(ours.min).toBe(numpy.min);
  expect(ours.max).toBe(numpy.max);
}

const at = (array: NDArray, [z, y, x]: readonly number[]) => array.values()[(z * array.shape[1] + y) * array.shape[2] + x];

describe('decodeMrc on real EMDB maps and a micrograph, against numpy', () => {
  it('has the expected fixture set', () => {
    expect(realMaps.map((m) => m.file)).toEqual(['EMD-3197.map', 'EMD-3001.map', 'micrographs/mic-000.mrc']);
  });

  for (const reference of realMaps) {
    it(reference.file, () => {
      const { header, extendedHeader, voxelSize, data } = decodeMrc(readFileSync(dataDir + reference.file), reference.file);
      expect(data.shape).toEqual(reference.shape);
      expect(data.dtype).toBe(reference.dtype);
      expect(voxelSize).toEqual(reference.voxelSize);
      expect(header.origin).toEqual(reference.origin);
      expect(header.cella).toEqual(reference.cella);
      expect(header.ispg).toBe(reference.ispg);
      expect([header.nx, header.ny, header.nz, header.mode]).toEqual([reference.nx, reference.ny, reference.nz, reference.mode]);
      expect([header.mapc, header.mapr, header.maps]).toEqual([reference.mapc, reference.mapr, reference.maps]);
      expect([header.dmin, header.dmax, header.dmean, header.rms]).toEqual([reference.dmin, reference.dmax, reference.dmean, reference.rms]);
      expect(header.nsymbt).toBe(reference.nsymbt);
      expect(extendedHeader.byteLength).toBe(reference.nsymbt);
      expect(header.labels).toEqual(reference.labels);
      expectStatsClose(referenceStats(data.values()), reference.stats);
      for (const sample of reference.samples) expect(at(data, sample.at)).toBe(sample.value);
    });
  }

  it('EMD-3001 (axes 3, 1, 2; 160-byte extended header) comes out in Z, Y, X order with spatial voxel sizes', () => {
    const { header, voxelSize, data } = decodeMrc(readFileSync(`${dataDir}EMD-3001.map`), 'EMD-3001.map');
    expect([header.mapc, header.mapr, header.maps]).toEqual([3, 1, 2]);
    expect(header.nsymbt).toBe(160);
    expect(data.shape).toEqual([header.nx, header.nz, header.ny]); // Z runs along columns, Y along sections, X along rows
    expect(voxelSize[0]).toBeCloseTo(17.93 / 40, 6);
  });

  it('decodes any run of sections alone, equal to the same sections of the whole map', () => {
    for (const file of ['EMD-3001.map', 'EMD-3197.map']) {
      const bytes = readFileSync(dataDir + file);
      const layout = readMrcLayout(bytes, file);
      const whole = decodeMrc(bytes, file).data;
      const [, height, width] = layout.shape;
      const part = new Float32Array(3 * height * width);
      decodeMrcInto(bytes, layout, part, 5, 3);
      expect(part).toEqual(whole.data.subarray(5 * height * width, 8 * height * width));
    }
  });
});

describe('decodeMrc on numpy-written files of each mode', () => {
  it('has the expected fixture set', () => {
    expect(Object.keys(modes)).toEqual(['mode-0.mrc', 'mode-1.mrc', 'mode-2.mrc', 'mode-6.mrc', 'mode-12.mrc', 'mode-2-big-endian.mrc']);
  });

  const dtypes: Record<number, DType> = { 0: 'int8', 1: 'int16', 2: 'float32', 6: 'uint16', 12: 'float16' };
  for (const [file, reference] of Object.entries(modes)) {
    it(file, () => {
      const { header, voxelSize, data, extendedHeader } = decodeMrc(readFixture(file), file);
      expect(data.dtype).toBe(dtypes[reference.mode]);
      expect(data.shape).toEqual(reference.shape);
      expect(Array.from(data.values())).toEqual(reference.values);
      expect(voxelSize).toEqual([1.5, 1.25, 2]);
      expect(header.origin).toEqual([10, -20, 30.5]);
      expect(header.labels).toEqual([`numpy fixture, mode ${reference.mode}`]);
      expect(new TextDecoder().decode(extendedHeader)).toBe(file === 'mode-2.mrc' ? 'EXTENDED'.repeat(8) : '');
    });
  }

  it('decodes big-endian data into a new, native-order array', () => {
    const bytes = readFixture('mode-2-big-endian.mrc');
    const before = Buffer.from(bytes);
    const { data } = decodeMrc(bytes, 'mode-2-big-endian.mrc');
    expect(data.data.buffer).not.toBe(bytes.buffer);
    expect(bytes.equals(before)).toBe(true);
  });
});

describe('decodeMrc errors name the file and the problem', () => {
  const valid = () => Buffer.from(readFixture('mode-1.mrc'));

  it('truncated data', () => {
    expect(() => decodeMrc(readFixture('truncated.mrc'), 'truncated.mrc')).toThrow(
      'truncated.mrc: truncated MRC file: expected 240 bytes of data after the 1024-byte header (5×4×3 voxels of mode 2), found 233',
    );
  });

  it('a file shorter than the header', () => {
    expect(() => decodeMrc(valid().subarray(0, 100), 'short.mrc')).toThrow('short.mrc: not an MRC file: shorter than the 1024-byte MRC header');
  });

  it('bad MAP stamp', () => {
    expect(() => decodeMrc(readFixture('bad-stamp.mrc'), 'bad-stamp.mrc')).toThrow('bad-stamp.mrc: not an MRC file: no "MAP " stamp at byte 208');
  });

  it('unsupported mode', () => {
    const bytes = valid();
    bytes.writeInt32LE(4, 12);
    expect(() => decodeMrc(bytes, 'complex.mrc')).toThrow('complex.mrc: MRC mode 4 is not supported (supported modes: 0 (int8), 1 (int16), 2 (float32), 6 (uint16), 12 (float16))');
  });

  it('nonsensical sizes', () => {
    const bytes = valid();
    bytes.writeInt32LE(-5, 0);
    expect(() => decodeMrc(bytes, 'negative.mrc')).toThrow('negative.mrc: nonsensical MRC size nx×ny×nz = -5×4×3 (each must be at least 1)');
    bytes.writeInt32LE(0, 0);
    expect(() => decodeMrc(bytes, 'zero.mrc')).toThrow(/zero\.mrc: nonsensical MRC size nx×ny×nz = 0×4×3/);
    bytes.writeInt32LE(100000, 0);
    bytes.writeInt32LE(100000, 4);
    expect(() => decodeMrc(bytes, 'huge.mrc')).toThrow('huge.mrc: truncated MRC file: expected 60000000000 bytes of data after the 1024-byte header (100000×100000×3 voxels of mode 1), found 120');
  });

  it('an extended header longer than the file', () => {
    const bytes = valid();
    bytes.writeInt32LE(5000, 92);
    expect(() => decodeMrc(bytes, 'ext.mrc')).toThrow('ext.mrc: extended header size NSYMBT = 5000 does not fit the 1144-byte file');
  });

  it('axis order that is not a permutation of 1, 2, 3', () => {
    const bytes = valid();
    bytes.writeInt32LE(0, 64);
    expect(() => decodeMrc(bytes, 'axes.mrc')).toThrow('axes.mrc: axis order mapc, mapr, maps = 0, 2, 3 is not supported (expected a permutation of 1, 2, 3)');
  });

  it('unknown machine stamp', () => {
    const bytes = valid();
    bytes[212] = 0;
    bytes[213] = 0;
    expect(() => decodeMrc(bytes, 'stamp.mrc')).toThrow('stamp.mrc: unknown MRC machine stamp at byte 212 (expected 0x44 0x44 little-endian or 0x11 0x11 big-endian)');
  });
});

describe('encodeMrc', () => {
  const shape = [3, 4, 5];
  const count = 60;
  const arrays: Record<string, NDArray> = {
    int8: new NDArray(Int8Array.from({ length: count }, (_, i) => ((i * 37) % 256) - 128), shape),
    int16: new NDArray(Int16Array.from({ length: count }, (_, i) => i * 1110 - 32768), shape),
    float32: new NDArray(Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 1e5), shape),
    uint16: new NDArray(Uint16Array.from({ length: count }, (_, i) => i * 1110), shape),
    // raw half bits 0, 523, 1046, …: subnormals through normals up to about 37000, all finite
    float16: new NDArray(Uint16Array.from({ length: count }, (_, i) => i * 523), shape, {}, 'float16'),
    image: new NDArray(Float32Array.from({ length: 20 }, (_, i) => i / 7), [4, 5]),
  };
  const options = { voxelSize: [1.1, 2.2, 3.3] as [number, number, number], origin: [4, 5, 6] as [number, number, number], labels: ['first label', 'Å non-ASCII ' + 'x'.repeat(100)] };
  const files = Object.fromEntries(
    Object.entries(arrays).map(([name, array]) => {
      const path = join(scratch, `${name}.mrc`);
      writeFileSync(path, encodeMrc(array, options));
      return [name, path];
    }),
  );

  for (const [name, array] of Object.entries(arrays)) {
    it(`round-trips ${name} through decodeMrc`, () => {
      const { data, voxelSize, header } = decodeMrc(readFileSync(files[name]), files[name]);
      expect(data.dtype).toBe(array.dtype);
      expect(data.shape).toEqual(array.rank === 2 ? [1, ...array.shape] : array.shape);
      expect(data.data).toEqual(array.data);
      voxelSize.forEach((size, i) => expect(size).toBeCloseTo(options.voxelSize[i], 5));
      expect(header.origin).toEqual(options.origin);
      expect(header.ispg).toBe(array.rank === 2 ? 0 : 1);
      expect(header.labels).toEqual(['first label', `? non-ASCII ${'x'.repeat(68)}`]);
    });
  }

  it('writes files numpy reads with the same values, header fields and statistics', () => {
    const names = Object.keys(files);
    const read = JSON.parse(execFileSync('python3', [script, 'read', ...names.map((n) => files[n])], { encoding: 'utf8' })) as NumpyRead[];
    names.forEach((name, k) => {
      const array = arrays[name];
      const numpy = read[k];
      expect(numpy.values).toEqual(Array.from(array.values()));
      expect(numpy.shape).toEqual(array.rank === 2 ? [1, ...array.shape] : array.shape);
      expect([numpy.stamp, numpy.machst, numpy.nversion]).toEqual(['MAP ', [0x44, 0x44], 20140]);
      expect([numpy.mapc, numpy.mapr, numpy.maps, numpy.nsymbt]).toEqual([1, 2, 3, 0]);
      numpy.voxelSize.forEach((size, i) => expect(size).toBeCloseTo(options.voxelSize[i], 5));
      expect([numpy.dmin, numpy.dmax]).toEqual([Math.fround(numpy.stats.min), Math.fround(numpy.stats.max)]);
      expect(numpy.dmean).toBe(Math.fround(numpy.stats.mean));
      expect(numpy.rms).toBe(Math.fround(numpy.stats.std));
    });
  });

  it('writes 0 voxel size (unknown) and no labels by default', () => {
    const { voxelSize, header } = decodeMrc(encodeMrc(arrays.int16), 'default.mrc');
    expect(voxelSize).toEqual([0, 0, 0]);
    expect(header.labels).toEqual([]);
  });

  it('rejects dtypes MRC has no mode for, naming the dtype and the supported ones', () => {
    expect(() => encodeMrc(new NDArray(new Float64Array(4), [2, 2]))).toThrow(
      'encodeMrc: dtype float64 cannot be written to MRC (supported: int8 → mode 0, int16 → mode 1, float32 → mode 2, uint16 → mode 6, float16 → mode 12)',
    );
    expect(() => encodeMrc(new NDArray(new Uint8Array(4), [2, 2]))).toThrow(/dtype uint8 cannot be written/);
  });

  it('rejects 1-D, 4-D and empty arrays, and more than 10 labels', () => {
    expect(() => encodeMrc(new NDArray(new Float32Array(4), [4]))).toThrow('encodeMrc: MRC holds 2-D images or 3-D volumes/stacks, got shape [4]');
    expect(() => encodeMrc(new NDArray(new Float32Array(4), [1, 1, 2, 2]))).toThrow(/got shape \[1, 1, 2, 2\]/);
    expect(() => encodeMrc(new NDArray(new Float32Array(0), [0, 3]))).toThrow('encodeMrc: cannot write an empty array (shape [0, 3])');
    expect(() => encodeMrc(arrays.image, { labels: Array(11).fill('x') })).toThrow('encodeMrc: MRC holds at most 10 labels, got 11');
  });
});

describe('a tomogram-sized file (100 × 512 × 512 float32, 105 MB) written by numpy', () => {
  it('decodes to numpy’s statistics and voxels', () => {
    const path = join(scratch, 'tomogram.mrc');
    const reference = JSON.parse(execFileSync('python3', [script, 'tomogram', path], { encoding: 'utf8' })) as Pick<RealMap, 'shape' | 'stats' | 'samples'>;
    const { data, voxelSize } = decodeMrc(readFileSync(path), path);
    expect(data.shape).toEqual(reference.shape);
    voxelSize.forEach((size) => expect(size).toBeCloseTo(2.17, 5));
    expectStatsClose(referenceStats(data.data), reference.stats);
    for (const sample of reference.samples) expect(at(data, sample.at)).toBe(sample.value);
  });
});
