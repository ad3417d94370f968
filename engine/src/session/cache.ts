// The per-node result cache: the frames of a node's last run, pinned in their slots, under a byte budget.
import type { SlotRef } from '@emflow/sdk';
import type { PortRing, Slot } from './slots.js';

/** A frame held in a slot. */
export interface HeldFrame {
  slot: Slot;
  ring: PortRing;
  ref: SlotRef;
}

export interface CacheEntry {
  key: string;
  /** false while the node runs, and for good once its frames overflowed the budget */
  complete: boolean;
  overflowed: boolean;
  frames: Map<string, HeldFrame[]>;
  /** output frame sets produced */
  count: number;
  bytes: number;
}

export class ResultCache {
  private readonly entries = new Map<string, CacheEntry>();
  private pinned = 0;

  constructor(readonly budget: number) {}

  /** node → key, for the nodes whose entry is complete */
  completeKeys(): Map<string, string> {
    return new Map([...this.entries].filter(([, e]) => e.complete).map(([node, e]) => [node, e.key]));
  }

  get(node: string): CacheEntry | undefined {
    return this.entries.get(node);
  }

  /** Start a fresh entry for a node about to run (its old frames are let go). */
  begin(node: string, key: string): CacheEntry {
    this.drop(node);
    const entry: CacheEntry = { key, complete: false, overflowed: false, frames: new Map(), count: 0, bytes: 0 };
    this.entries.set(node, entry);
    return entry;
  }

  /** Keep a frame if the budget allows; otherwise give up on the whole entry. */
  keep(node: string, port: string, frame: HeldFrame): void {
    const entry = this.entries.get(node);
    if (!entry || entry.overflowed) return;
    if (this.pinned + frame.slot.size > this.budget) {
      // a budget of 0 turns caching off: one-shot runs and streams keep nothing
      this.release(entry);
      entry.overflowed = true;
      return;
    }
    frame.ring.pin(frame.slot);
    this.pinned += frame.slot.size;
    entry.bytes += frame.slot.size;
    entry.frames.set(port, [...(entry.frames.get(port) ?? []), frame]);
  }

  finish(node: string, count: number): void {
    const entry = this.entries.get(node);
    if (!entry) return;
    entry.count = count;
    entry.complete = !entry.overflowed;
  }

  drop(node: string): void {
    const entry = this.entries.get(node);
    if (!entry) return;
    this.release(entry);
    this.entries.delete(node);
  }

  private release(entry: CacheEntry): void {
    for (const frames of entry.frames.values()) {
      for (const frame of frames) frame.ring.unpin(frame.slot);
    }
    this.pinned -= entry.bytes;
    entry.bytes = 0;
    entry.frames.clear();
  }
}
