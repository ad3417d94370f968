// The sweep of stale session directories at the start of every session: it removes only its own user's folders
// whose engine is gone, follows no link, leaves what is not a folder, and never fails (a sweep must not fail a run).
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importable, isRoot, NOBODY, runInChild } from '../../test/child.js';
import { sweepStaleSessionDirs } from '../src/session/session-dir.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-sweep-test-'));
chmodSync(scratch, 0o755); // the unprivileged cases run as another user
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const compiled = importable(fileURLToPath(new URL('../dist/session/session-dir.js', import.meta.url)));

const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
const ownerJson = (pid: number) => JSON.stringify({ pid, host: hostname(), started: new Date().toISOString() });
const longAgo = new Date(Date.now() - 3_600_000);

let roots = 0;
/** A private stand-in for /dev/shm: sticky and writable by everyone, as /dev/shm is. */
function freshRoot(): string {
  const root = join(scratch, `root-${roots++}`);
  mkdirSync(root);
  chmodSync(root, 0o1777);
  return root;
}

/** A folder with these files, last changed an hour ago (a session directory without owner is swept after a minute). */
function oldFolder(path: string, files: Record<string, string>): string {
  mkdirSync(path);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
  utimesSync(path, longAgo, longAgo);
  return path;
}

describe('sweepStaleSessionDirs', () => {
  it('removes its own folders whose engine is gone and keeps those of a live engine', () => {
    const root = freshRoot();
    const dead = oldFolder(join(root, 'emflow-dead'), { 'owner.json': ownerJson(deadPid), 'src.image.0': 'x' });
    oldFolder(join(root, 'emflow-live'), { 'owner.json': ownerJson(process.pid), 'src.image.0': 'x' });
    oldFolder(join(root, 'other-dead'), { 'owner.json': ownerJson(deadPid) });
    expect(sweepStaleSessionDirs(root)).toEqual([dead]);
    expect(readdirSync(root).sort()).toEqual(['emflow-live', 'other-dead']);
  });

  it('leaves files and links named emflow-*, and never follows a link to a folder', () => {
    const root = freshRoot();
    writeFileSync(join(root, 'emflow-a'), 'a stale file');
    utimesSync(join(root, 'emflow-a'), longAgo, longAgo);
    const elsewhere = oldFolder(join(scratch, 'linked-folder'), { 'owner.json': ownerJson(deadPid), 'precious.dat': 'keep me' });
    for (const [name, target] of [
      ['emflow-b', elsewhere],
      ['emflow-dangling', join(scratch, 'nothing-here')],
    ]) {
      symlinkSync(target, join(root, name));
      lutimesSync(join(root, name), longAgo, longAgo);
    }
    expect(sweepStaleSessionDirs(root)).toEqual([]);
    expect(readdirSync(root).sort()).toEqual(['emflow-a', 'emflow-b', 'emflow-dangling']);
    expect(readdirSync(elsewhere).sort()).toEqual(['owner.json', 'precious.dat']);
  });

  it.runIf(isRoot)('leaves the folders of another user alone, even when their owner file names a dead engine', () => {
    const root = freshRoot();
    const theirs = oldFolder(join(root, 'emflow-theirs'), { 'owner.json': ownerJson(deadPid) });
    chownSync(theirs, NOBODY, NOBODY);
    utimesSync(theirs, longAgo, longAgo);
    expect(sweepStaleSessionDirs(root)).toEqual([]);
    expect(existsSync(join(theirs, 'owner.json'))).toBe(true);
  });

  it('does not hang on an owner file that is a FIFO or a device, or fail on one that is a folder', () => {
    const root = freshRoot();
    const fifo = oldFolder(join(root, 'emflow-fifo'), {});
    spawnSync('mkfifo', [join(fifo, 'owner.json')]);
    const device = oldFolder(join(root, 'emflow-device'), {});
    symlinkSync('/dev/zero', join(device, 'owner.json'));
    const folder = oldFolder(join(root, 'emflow-folder'), {});
    mkdirSync(join(folder, 'owner.json'));
    for (const dir of [fifo, device, folder]) utimesSync(dir, longAgo, longAgo);
    // in a child process: on a FIFO, a blocking read would never return
    const outcome = runInChild(`return (await import(${compiled})).sweepStaleSessionDirs(${JSON.stringify(root)});`, { timeoutMs: 10_000 });
    // without a readable owner, the age decides: an hour without a change is stale
    expect(outcome).toEqual({ value: [device, fifo, folder].sort() });
    expect(existsSync('/dev/zero')).toBe(true);
  });

  it('never throws on what it cannot read or remove: an unreadable owner file, a locked folder, a folder not its own', () => {
    const root = freshRoot();
    // as root, the sweep below runs as nobody: these folders are its own
    const giveToSweeper = (path: string) => isRoot && chownSync(path, NOBODY, NOBODY);
    const unreadable = oldFolder(join(root, 'emflow-unreadable'), { 'owner.json': ownerJson(process.pid) });
    chmodSync(join(unreadable, 'owner.json'), 0o000);
    giveToSweeper(join(unreadable, 'owner.json'));
    const locked = oldFolder(join(root, 'emflow-locked'), { 'owner.json': ownerJson(deadPid), 'src.image.0': 'x' });
    for (const dir of [unreadable, locked]) {
      giveToSweeper(dir);
      utimesSync(dir, longAgo, longAgo);
    }
    chmodSync(locked, 0o000);
    const notMine = isRoot ? oldFolder(join(root, 'emflow-root'), { 'owner.json': ownerJson(deadPid) }) : undefined;
    const outcome = runInChild(`return (await import(${compiled})).sweepStaleSessionDirs(${JSON.stringify(root)});`, { unprivileged: true });
    chmodSync(locked, 0o700);
    // the owner file cannot be read, so the age decides; the locked folder cannot be looked into, so it is left
    expect(outcome).toEqual({ value: [unreadable] });
    expect(existsSync(join(locked, 'src.image.0'))).toBe(true);
    if (notMine) expect(existsSync(join(notMine, 'owner.json'))).toBe(true);
  });
});
