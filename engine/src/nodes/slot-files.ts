// Slot files touched by the relays between hosts. Names are checked by the caller (slot-sync.ts isSlotName); files
// are opened without following a symbolic link, created 0600, and grown, never shrunk (sdk/PROTOCOL.md §1).
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, rmSync, writeSync, writevSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SlotMappings, type SlotRef } from '@emflow/sdk';

/** The slot's worker folder, made when missing; a link in its place is refused (it would lead the write elsewhere). */
function folderOf(dir: string, slot: string): void {
  const folder = dirname(join(dir, slot));
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (!lstatSync(folder).isDirectory()) throw new Error(`${folder} is not a folder (a link?): slot ${slot} is not written through it`);
}

function open(dir: string, slot: string, size: number): number {
  folderOf(dir, slot);
  const fd = openSync(join(dir, slot), constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    if (fstatSync(fd).size < size) ftruncateSync(fd, size);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The slot exists and is at least `size` bytes. */
export function ensureSlot(dir: string, slot: string, size: number): void {
  closeSync(open(dir, slot, size));
}

/** Write a frame's bytes at `offset` into the slot, grown to `size` first. */
export function writeSlot(dir: string, slot: string, size: number, offset: number, chunks: Buffer[]): void {
  const fd = open(dir, slot, size);
  try {
    let at = offset;
    // writev takes at most IOV_MAX (1024) buffers at a time
    for (let i = 0; i < chunks.length; i += 1024) {
      const batch = chunks.slice(i, i + 1024);
      const bytes = batch.reduce((n, b) => n + b.length, 0);
      const written = writevSync(fd, batch, at);
      // a short write (rare on tmpfs): the rest from one buffer
      const rest = written < bytes ? Buffer.concat(batch).subarray(written) : Buffer.alloc(0);
      for (let done = 0; done < rest.length; ) done += writeSync(fd, rest, done, rest.length - done, at + written + done);
      at += bytes;
    }
  } finally {
    closeSync(fd);
  }
}

export function removeSlot(dir: string, slot: string): void {
  rmSync(join(dir, slot), { force: true });
}

/**
 * Frames read from a host's slot files through mappings kept between reads (a ring's slots come round again: no
 * page faults on a fresh buffer per frame); a slot file made anew since (another inode) is mapped anew.
 */
export class SlotReader {
  private readonly mappings: SlotMappings;
  private readonly inodes = new Map<string, number>();

  constructor(private readonly dir: string) {
    this.mappings = new SlotMappings(dir);
  }

  /** The bytes a reference names; refused unless the slot is a regular file (a link could name any file) at least as large as the reference says. */
  frame(ref: SlotRef): Uint8Array {
    const file = lstatSync(join(this.dir, ref.slot));
    if (!file.isFile() || file.size < ref.size) throw new Error(`slot ${ref.slot} is ${file.isFile() ? `smaller than the ${ref.size} bytes its reference says` : 'not a file'}`);
    if (this.inodes.get(ref.slot) !== file.ino) this.drop(ref.slot);
    this.inodes.set(ref.slot, file.ino);
    return this.mappings.bytes(ref.slot, ref.size, 'r').subarray(ref.offset, ref.offset + ref.length);
  }

  drop(slot: string): void {
    this.mappings.drop(slot);
    this.inodes.delete(slot);
  }

  clear(): void {
    this.mappings.clear();
    this.inodes.clear();
  }
}
