// What an MRC header can say about a frame, taken from its metadata: voxel size in Å, origin, space group, and
// provenance labels.
import { basename } from 'node:path';
import type { MrcEncodeOptions, Vec3 } from '@emflow/formats';
import type { NDArray } from '@emflow/sdk';

/** Factors from the length units frames may carry to Å; "px" means no physical size is known. */
const TO_ANGSTROM: Record<string, number> = { Å: 1, A: 1, angstrom: 1, nm: 10, µm: 1e4, um: 1e4 };
const MAX_LABELS = 10;

export function mrcOptionsFor(array: NDArray): MrcEncodeOptions {
  const { meta } = array;
  const options: MrcEncodeOptions = { voxelSize: voxelSizeOf(array), labels: labelsOf(array) };
  if (isVec3(meta.origin)) options.origin = meta.origin;
  // A 2-D frame is an image whatever the volume it came from: keep the default (0).
  if (array.rank === 3 && Number.isInteger(meta.spaceGroup)) options.spaceGroup = meta.spaceGroup as number;
  return options;
}

/** [x, y, z] in Å from meta.pixelSize ([y, x] or [z, y, x]); a 2-D image gets its x size along z, as micrographs do. */
function voxelSizeOf({ meta, rank, shape }: NDArray): Vec3 {
  if (meta.pixelSize === undefined) return [0, 0, 0];
  const units = meta.units ?? 'Å';
  if (units === 'px') return [0, 0, 0];
  const toAngstrom = TO_ANGSTROM[units];
  if (toAngstrom === undefined) throw new Error(`meta.units "${units}" is not a length unit (expected Å, nm, µm, or px for none)`);
  const sizes = meta.pixelSize;
  if (!Array.isArray(sizes) || sizes.length !== rank || !sizes.every((s) => Number.isFinite(s) && s >= 0)) {
    throw new Error(`meta.pixelSize ${JSON.stringify(sizes)} does not fit a frame of shape [${shape.join(', ')}] (expected ${rank} sizes ≥ 0)`);
  }
  const [x, y, z] = rank === 2 ? [sizes[1], sizes[0], sizes[1]] : [sizes[2], sizes[1], sizes[0]];
  return [x * toAngstrom, y * toAngstrom, z * toAngstrom];
}

/** The source's own labels (as mrc-reader passes them on), then one saying where this file came from. */
function labelsOf({ meta }: NDArray): string[] {
  const inherited = Array.isArray(meta.labels) ? meta.labels.filter((label): label is string => typeof label === 'string') : [];
  const own = `emflow mrc-writer${typeof meta.source === 'string' ? ` from ${basename(meta.source)}` : ''}`;
  return [...inherited.slice(0, MAX_LABELS - 1), own];
}

function isVec3(value: unknown): value is Vec3 {
  return Array.isArray(value) && value.length === 3 && value.every(Number.isFinite);
}
