// Session directories on /dev/shm: created per session, removed on close, and swept when their engine died.
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CONTAINER_USER } from '../build/images.js';
import { readRegularFile } from '../regular-file.js';

export const SESSION_PREFIX = 'emflow-';

export function shmRoot(): string {
  return process.env.EMFLOW_SHM_DIR ?? '/dev/shm';
}

interface Owner {
  pid: number;
  host: string;
  started: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new session directory; `owner` (the operators' user, for container runtimes) gets it. */
export function createSessionDir(owner?: { uid: number; gid: number }, root = shmRoot()): { id: string; dir: string } {
  if (!existsSync(root)) throw new Error(`shared-memory directory ${root} does not exist (set EMFLOW_SHM_DIR to a tmpfs folder)`);
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const dir = join(root, SESSION_PREFIX + id);
  mkdirSync(dir, { mode: 0o700 });
  const engine: Owner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  writeFileSync(join(dir, 'owner.json'), JSON.stringify(engine));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return { id, dir };
}

export function removeSessionDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The users whose session directories this engine sweeps: its own, and as root also the containers' user, to which
 * it gives the session directories of the docker runtime.
 */
export function sweptOwners(): number[] {
  const me = process.getuid?.();
  if (me === undefined) return [];
  return me === 0 ? [me, CONTAINER_USER.uid] : [me];
}

/**
 * Remove session directories whose engine process is gone. Never touches those of a live engine, nor anything that
 * is not a real folder (files, links: never followed) owned by one of `owners` (by its own lstat, not by a file
 * inside, which anyone may have written). Never throws: what cannot be read or removed is left. Returns the
 * removed paths.
 */
export function sweepStaleSessionDirs(root = shmRoot(), owners: readonly number[] = sweptOwners()): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(SESSION_PREFIX)) continue;
    const dir = join(root, name);
    try {
      if (!isStale(dir, owners)) continue;
      // rmSync does not follow links, neither at `dir` (were it swapped meanwhile) nor inside it
      removeSessionDir(dir);
      removed.push(dir);
    } catch {
      // a sweep must never fail a run: a folder it cannot look into or remove is left
    }
  }
  return removed;
}

function isStale(dir: string, owners: readonly number[]): boolean {
  const stats = lstatSync(dir);
  if (!stats.isDirectory() || !owners.includes(stats.uid)) return false;
  const owner = readOwner(dir);
  // no readable owner file: only once surely not being created right now
  return owner ? owner.host === hostname() && !isAlive(owner.pid) : Date.now() - stats.mtimeMs > 60_000;
}

/** An owner file is a few dozen bytes; anything much larger is not one. */
const MAX_OWNER_BYTES = 4096;

/**
 * The engine that created `dir`, from its owner file, or undefined when that is not a small regular file (a link,
 * a FIFO, a device: not followed, never blocking) holding an owner.
 */
function readOwner(dir: string): Owner | undefined {
  const bytes = readRegularFile(join(dir, 'owner.json'), { maxBytes: MAX_OWNER_BYTES });
  if (!bytes) return undefined;
  try {
    const owner = JSON.parse(bytes.toString('utf8')) as Partial<Owner> | null;
    const valid = Number.isInteger(owner?.pid) && owner!.pid! > 0 && typeof owner?.host === 'string';
    return valid ? (owner as Owner) : undefined;
  } catch {
    return undefined;
  }
}
