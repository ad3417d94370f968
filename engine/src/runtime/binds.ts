// What container runtimes (docker, singularity) bind into an operator and the limits they give it.
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
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

/** Can `user` write into `folder`, by its mode bits? */
function writableBy(folder: string, user: { uid: number; gid: number }): boolean {
  const { uid, gid, mode } = statSync(folder);
  return (uid === user.uid && (mode & 0o200) !== 0) || (gid === user.gid && (mode & 0o020) !== 0) || (mode & 0o002) !== 0;
}

/**
 * Make sure the containers' user can write where a node writes: folders that do not exist yet are created
 * and given to that user; an existing folder it cannot write is a clear error before anything starts.
 */
export function prepareWriteFolders(binds: string[], user: { uid: number; gid: number }): void {
  for (const bind of binds.filter((b) => b.endsWith(':rw'))) {
    const folder = bind.split(':')[0];
    if (!existsSync(folder)) {
      mkdirSync(folder, { recursive: true });
      if (process.getuid?.() === 0) chownSync(folder, user.uid, user.gid);
    } else if (!writableBy(folder, user)) {
      throw new Error(`its output folder ${folder} is not writable by the operators' user (uid ${user.uid}): make it writable (e.g. chown ${user.uid} ${folder}) or write elsewhere`);
    }
  }
}
