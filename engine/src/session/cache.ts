// The per-node result cache: the frames of a node's last run, pinned in their slots, under a byte budget.
// When a new frame does not fit, the least recently used complete entries of other nodes go first; a node whose
// own output does not fit is not kept at all (a long stream is not served from the cache).
import type { SlotRef } from '@emflow/sdk';
import type { PortRing, Slot } from './slots.js';

/** A frame held in a slot. */
export interface HeldFrame {
  slot: Slot;
  ring: PortRing;
  ref: SlotRef;
  /** when the source frame it derives from was acquired (performance.now() of this process) */
  acquiredAt: number;
}

export interface CacheEntry {
  key: string;
  /** false while the node runs, and for good once its frames were let go */
  complete: boolean;
  /** why the frames are not kept: the node's output exceeded the budget, or newer results pushed it out */
  dropped?: 'budget' | 'evicted';
  frames: Map<string, HeldFrame[]>;
  /** output frame sets produced */
  count: number;
  bytes: number;
  /** when it was last written or replayed (least recently used entries are evicted first) */
  used: number;
}

export class ResultCache {
  private readonly entries = new Map<string, CacheEntry>();
  private pinned = 0;
  private clock = 0;

  constructor(readonly budget: number) {}

  /** node → key, for the nodes whose entry is complete */
  completeKeys(): Map<string, string> {
    return new Map([...this.entries].filter(([, e]) => e.complete).map(([node, e]) => [node, e.key]));
  }

  get(node: string): CacheEntry | undefined {
    return this.entries.get(node);
  }

  /** Bytes pinned right now (never more than the budget). */
  get bytes(): number {
    return this.pinned;
  }

  /** The entry is being replayed: it becomes the most recently used. */
  touch(node: string): void {
    const entry = this.entries.get(node);
    if (entry) entry.used = ++this.clock;
  }

  /** Start a fresh entry for a node about to run (its old frames are let go). */
  begin(node: string, key: string): CacheEntry {
    this.drop(node);
    const entry: CacheEntry = { key, complete: false, frames: new Map(), count: 0, bytes: 0, used: ++this.clock };
    this.entries.set(node, entry);
    return entry;
  }

  /** Keep a frame if the budget allows, evicting older complete entries; otherwise give up on the whole entry. */
  keep(node: string, port: string, frame: HeldFrame): void {
    const entry = this.entries.get(node);
    if (!entry || entry.dropped) return;
    const size = frame.slot.size;
    // a stream that cannot fit even alone never pushes out the results of other nodes
    if (this.pinned + size > this.budget && entry.bytes + size <= this.budget) this.evictFor(size, node);
    if (this.pinned + size > this.budget) {
      // a budget of 0 turns caching off: one-shot runs keep nothing
      this.release(entry);
      entry.dropped = 'budget';
      return;
    }
    frame.ring.pin(frame.slot);
    this.pinned += size;
    entry.bytes += size;
    entry.used = ++this.clock;
    entry.frames.set(port, [...(entry.frames.get(port) ?? []), frame]);
  }

  /** Evict complete entries of other nodes, least recently used first, until `size` more bytes fit. */
  private evictFor(size: number, except: string): void {
    const candidates = [...this.entries].filter(([node, e]) => node !== except && e.complete && e.bytes > 0).sort(([, a], [, b]) => a.used - b.used);
    for (const [, entry] of candidates) {
      if (this.pinned + size <= this.budget) return;
      this.release(entry);
      entry.complete = false;
      entry.dropped = 'evicted';
    }
  }

  /** The node finished; `ended` is false when its stream was cut short (a frame limit), which is never served again. */
  finish(node: string, count: number, ended: boolean): void {
    const entry = this.entries.get(node);
    if (!entry) return;
    entry.count = count;
    entry.complete = ended && !entry.dropped;
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
