// An MRC file as frames: the whole map as one volume, or one image per section, decoded straight into
// arrays the caller allocates (ctx.alloc: shared memory), with the header carried in the metadata.
import { decodeMrcInto, readMrcLayout, type MrcLayout } from '@emflow/formats';
import type { DType, FrameMeta, NDArray } from '@emflow/sdk';

export type Allocate = (dtype: DType, shape: readonly number[], meta: FrameMeta) => NDArray;

/** Parse the header, with errors naming this operator and the file. */
export function openMrc(bytes: Uint8Array, path: string): MrcLayout {
  try {
    return readMrcLayout(bytes, path);
  } catch (error) {
    throw new Error(`mrc-reader: ${(error as Error).message}`, { cause: error });
  }
}

/** What the volume and every section carry: the header's physical description and provenance. */
export function headerMeta(layout: MrcLayout): FrameMeta {
  const { header } = layout;
  return {
    units: 'Å',
    origin: header.origin,
    spaceGroup: header.ispg,
    mode: header.mode,
    source: layout.source,
    labels: header.labels,
    extendedHeaderBytes: header.nsymbt,
    exttyp: header.exttyp,
  };
}

/** The whole map, [Z, Y, X] (Z = 1 for a single micrograph). */
export function readVolume(bytes: Uint8Array, layout: MrcLayout, allocate: Allocate): NDArray {
  const [vx, vy, vz] = layout.voxelSize;
  const volume = allocate(layout.dtype, layout.shape, { ...headerMeta(layout), pixelSize: [vz, vy, vx] });
  decodeMrcInto(bytes, layout, volume.data);
  return volume;
}

/** One [Y, X] image per section, allocated and decoded only when pulled. */
export function* readSections(bytes: Uint8Array, layout: MrcLayout, allocate: Allocate): Generator<NDArray> {
  const [depth, height, width] = layout.shape;
  const [vx, vy] = layout.voxelSize;
  const meta = { ...headerMeta(layout), pixelSize: [vy, vx] };
  for (let z = 0; z < depth; z++) {
    const section = allocate(layout.dtype, [height, width], { ...meta, section: z });
    decodeMrcInto(bytes, layout, section.data, z, 1);
    yield section;
  }
}
