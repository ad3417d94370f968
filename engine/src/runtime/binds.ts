// What container runtimes (docker, singularity) bind into an operator and the limits they give it.
import { dirname } from 'node:path';
import type { OperatorSpec } from '@emflow/sdk';
import { pathParams } from '../path-params.js';

/** Bytes from a memory string such as "512m" or "4g". */
export function memoryBytes(memory: number | string): number {
  if (typeof memory === 'number') return memory;
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(memory)!;
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * unit);
}

/** Bind mounts for the files a node's params name: read paths read-only, write targets' folders read-write. */
export function dataBinds(spec: OperatorSpec, params: Record<string, unknown>): string[] {
  return pathParams(spec, params).map(({ path, access }) => {
    // a name pattern such as out/frame-{frame:04d}.png: mount the folder it writes into
    const mounted = access === 'write' || /[{*?[]/.test(path) ? dirname(path.replace(/\{[^}]*\}.*$/, 'x')) : path;
    return `${mounted}:${mounted}:${access === 'write' ? 'rw' : 'ro'}`;
  });
}

/** Limits of every container unless its spec's `resources` say otherwise. */
export interface ContainerLimits {
  /** bytes, or a docker memory string such as "4g" */
  memory: number | string;
  cpus: number;
  /** processes and threads */
  pids: number;
}

export const DEFAULT_LIMITS: ContainerLimits = { memory: '4g', cpus: 2, pids: 256 };
