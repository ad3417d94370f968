import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importable, runInChild } from '../../../test/child.js';
import { decodeMrc } from '@emflow/formats';
import { localContext, NDArray, type DType, type FrameMeta, type TypedArray } from '@emflow/sdk';
import { MrcReader } from '../src/index.js';
import { openMrc, readSections, readVolume } from '../src/mrc-frames.js';

const dataDir = fileURLToPath(new URL('../../../data/', import.meta.url));
const map3001 = `${dataDir}EMD-3001.map`;
const micrograph = `${dataDir}micrographs/mic-000.mrc`;
/** Same elements, compared as bytes (vitest's deep equality is slow on large typed arrays). */
const sameData = (a: TypedArray, b: TypedArray) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const allocate = (dtype: DType, shape: readonly number[], meta: FrameMeta) => NDArray.zeros(dtype, shape, meta);

/** A local context, and the ports its alloc was called for. */
function recordingContext() {
  const ctx = localContext('reader');
  return { ctx, ports: ctx.allocated };
}

describe('readVolume and readSections', () => {
  const bytes = readFileSync(map3001);
  const layout = openMrc(bytes, map3001);
  const reference = decodeMrc(bytes, map3001).data;

  it('reads the whole map with the header in the metadata', () => {
    const volume = readVolume(bytes, layout, allocate);
    expect(volume.shape).toEqual([73, 25, 43]);
    expect(sameData(volume.data, reference.data)).toBe(true);
    expect(volume.meta).toEqual({
      // cella (float32 in the file) over the sampling mx, my, mz, in Z, Y, X order
      pixelSize: [Math.fround(33.03) / 72, Math.fround(4.71) / 12, Math.fround(17.93) / 40],
      units: 'Å',
      origin: [0, 0, 0],
      spaceGroup: 4,
      mode: 2,
      source: map3001,
      labels: ['::::EMDATABANK.org::::EMD-3001::::'],
      extendedHeaderBytes: 160,
      exttyp: '',
    });
  });

  it('reads one section at a time, equal to the volume’s sections', () => {
    const sections = [...readSections(bytes, layout, allocate)];
    expect(sections).toHaveLength(73);
    const [, height, width] = reference.shape;
    sections.forEach((section, z) => {
      expect(section.shape).toEqual([height, width]);
      expect(sameData(section.data, reference.data.subarray(z * height * width, (z + 1) * height * width))).toBe(true);
      expect(section.meta.section).toBe(z);
    });
    expect(sections[0].meta.pixelSize).toEqual(readVolume(bytes, layout, allocate).meta.pixelSize!.slice(1));
  });
});

describe('MrcReader operator', () => {
  it('emits the map once on `volume` by default', () => {
    const { ctx, ports } = recordingContext();
    const outputs = [...new MrcReader().process({}, { path: map3001, sections: 'volume' }, ctx)];
    expect(outputs).toHaveLength(1);
    expect(ports).toEqual(['volume']);
    expect(outputs[0].volume!.shape).toEqual([73, 25, 43]);
  });

  it('emits a micrograph as a 1-section volume, or as one int16 image with frames', () => {
    const volume = [...new MrcReader().process({}, { path: micrograph, sections: 'volume' }, recordingContext().ctx)];
    expect(volume[0].volume!.shape).toEqual([1, 256, 256]);
    expect(volume[0].volume!.meta.pixelSize).toEqual([Math.fround(1.06), Math.fround(271.36) / 256, Math.fround(271.36) / 256]);

    const { ctx, ports } = recordingContext();
    const frames = [...new MrcReader().process({}, { path: micrograph, sections: 'frames' }, ctx)];
    expect(ports).toEqual(['section']);
    expect(frames[0].section!.dtype).toBe('int16');
    expect(frames[0].section!.shape).toEqual([256, 256]);
    expect(sameData(frames[0].section!.data, volume[0].volume!.data)).toBe(true);
  });

  it('names itself and the file in errors', () => {
    const missing = `${dataDir}nope.mrc`;
    expect(() => [...new MrcReader().process({}, { path: missing, sections: 'volume' }, recordingContext().ctx)]).toThrow(
      `mrc-reader: path: ${missing}: no such file or folder`,
    );
    const notMrc = `${dataDir}tomviz-sample.tiff`;
    expect(() => [...new MrcReader().process({}, { path: notMrc, sections: 'volume' }, recordingContext().ctx)]).toThrow(
      `mrc-reader: ${notMrc}: not an MRC file: no "MAP " stamp at byte 208`,
    );
  });

  it('refuses what is not a regular file up front, and quotes nothing of a text file', () => {
    const read = (path: string) => () => [...new MrcReader().process({}, { path, sections: 'volume' }, recordingContext().ctx)];
    expect(read('/dev/zero')).toThrow('mrc-reader: path: /dev/zero is a character device, not a regular file (expected an MRC file)');
    expect(read('/proc/self/environ')).toThrow('mrc-reader: path: /proc/self/environ is a file of /proc or /sys, not a regular file (expected an MRC file)');
    expect(read(dataDir)).toThrow(`mrc-reader: path: ${dataDir} is a folder, not a file (expected an MRC file)`);
    expect(read('/etc/passwd')).toThrow(/^mrc-reader: \/etc\/passwd: not an MRC file: no "MAP " stamp at byte 208$/);
  });

  it('refuses a FIFO at once (in a child process: a blocking open would never return)', () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'emflow-mrc-reader-test-')), 'pipe.mrc');
    spawnSync('mkfifo', [fifo]);
    const reader = importable(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
    const outcome = runInChild(`const { MrcReader } = await import(${reader}); [...new MrcReader().process({}, { path: ${JSON.stringify(fifo)}, sections: 'volume' }, {})];`, { timeoutMs: 10_000 });
    rmSync(dirname(fifo), { recursive: true });
    expect(outcome.error).toBe(`mrc-reader: path: ${fifo} is a FIFO, not a regular file (expected an MRC file)`);
  });
});
