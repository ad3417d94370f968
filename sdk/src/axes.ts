// Rank-3 arrays viewed around one axis: shared by operators that reduce or cut a volume along z, y or x.
import type { FrameMeta } from './frames.js';

export const VOLUME_AXES = ['z', 'y', 'x'] as const;
export type VolumeAxis = (typeof VOLUME_AXES)[number];

/**
 * A [z, y, x] array as [outer, along, inner] around `axis`: element (o, k, i) sits at
 * (o·along + k)·inner + i, and (o, i) at o·inner + i in the 2-D result without that axis.
 */
export interface AxisLayout {
  axis: number;
  outer: number;
  along: number;
  inner: number;
  /** The whole shape, for messages. */
  shape: readonly number[];
  /** The shape without `axis`. */
  remaining: number[];
}

/** Check that `shape` is 3-D and lay it out around `axis`; errors name `operatorName` and `port`. */
export function axisLayout(operatorName: string, port: string, shape: readonly number[], axis: VolumeAxis): AxisLayout {
  if (shape.length !== 3) {
    throw new RangeError(`${operatorName}: port "${port}" must be a 3-D volume [z, y, x], got a ${shape.length}-D array of shape [${shape.join(', ')}]`);
  }
  const index = VOLUME_AXES.indexOf(axis);
  if (index < 0) throw new RangeError(`${operatorName}: axis (${String(axis)}) must be one of ${VOLUME_AXES.join(', ')}`);
  return {
    axis: index,
    outer: shape.slice(0, index).reduce((a, b) => a * b, 1),
    along: shape[index],
    inner: shape.slice(index + 1).reduce((a, b) => a * b, 1),
    shape,
    remaining: shape.filter((_, i) => i !== index),
  };
}

/** Metadata for the result without `axis`: the pixel size loses that axis (absent stays absent). */
export function withoutAxis(meta: FrameMeta, axis: number): FrameMeta {
  return meta.pixelSize === undefined ? {} : { pixelSize: meta.pixelSize.filter((_, i) => i !== axis) };
}
