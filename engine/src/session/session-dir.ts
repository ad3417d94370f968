// Session directories on /dev/shm: created per session, removed on close, and swept when their engine died.
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

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

/** Remove session directories whose engine process is gone. Never touches those of a live engine. Returns the removed paths. */
export function sweepStaleSessionDirs(root = shmRoot()): string[] {
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith(SESSION_PREFIX)) continue;
    const dir = join(root, name);
    let owner: Owner | undefined;
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Owner;
    } catch {
      owner = undefined;
    }
    const stale = owner
      ? owner.host === hostname() && !isAlive(owner.pid)
      : Date.now() - statSync(dir).mtimeMs > 60_000; // no owner file: only once surely not being created right now
    if (stale) {
      removeSessionDir(dir);
      removed.push(dir);
    }
  }
  return removed;
}
