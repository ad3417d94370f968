// mrc-reader's frames against the same files read by NumPy (the MRC2014 reader of formats/test/fixtures/make_fixtures.py):
// the real maps in data/ and the NumPy-written fixtures of every mode, big-endian and with an extended header.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { localContext, type NDArray } from '@emflow/sdk';
import { differenceFromNumpy, readWithNumpy, sectionOf } from '../../../test/helpers.js';
import { MrcReader } from '../src/index.js';

const dataDir = fileURLToPath(new URL('../../../data/', import.meta.url));
const fixtureDir = fileURLToPath(new URL('../../../formats/test/fixtures/', import.meta.url));
const files = [
  `${dataDir}EMD-3197.map`,
  `${dataDir}EMD-3001.map`,
  `${dataDir}micrographs/mic-000.mrc`,
  ...['mode-0', 'mode-1', 'mode-2', 'mode-6', 'mode-12', 'mode-2-big-endian'].map((name) => `${fixtureDir}${name}.mrc`),
];
const numpy = readWithNumpy(...files);

function read(path: string, sections: 'volume' | 'frames'): NDArray[] {
  return [...new MrcReader().process({}, { path, sections }, localContext('reader'))].map((output) => (sections === 'volume' ? output.volume! : output.section!));
}

describe('mrc-reader against NumPy', () => {
  files.forEach((path, i) => {
    const reference = numpy[i];
    const voxelSize = reference.meta.voxelSize as [number, number, number]; // x, y, z

    it(`${basename(path)}: the volume NumPy reads, with the header's voxel size, origin, space group and labels`, () => {
      const [volume] = read(path, 'volume');
      expect(differenceFromNumpy(volume, reference)).toBeUndefined();
      expect(volume.meta).toMatchObject({
        pixelSize: [...voxelSize].reverse(),
        units: 'Å',
        origin: reference.meta.origin,
        spaceGroup: reference.meta.ispg,
        mode: reference.meta.mode,
        labels: reference.meta.labels,
        extendedHeaderBytes: reference.meta.nsymbt,
        source: path,
      });
    });

    it(`${basename(path)}: one frame per section, each NumPy's section`, () => {
      const frames = read(path, 'frames');
      expect(frames).toHaveLength(reference.shape[0]);
      frames.forEach((frame, z) => {
        expect(differenceFromNumpy(frame, sectionOf(reference, z)), `section ${z}`).toBeUndefined();
        expect(frame.meta).toMatchObject({ section: z, pixelSize: [voxelSize[1], voxelSize[0]], origin: reference.meta.origin });
      });
    });
  });
});
