// Operator log lines as they arrive (a flood can be thousands a second): a ring buffer of fixed capacity takes
// each line in O(1), and the reactive list the panel renders is replaced at most once per animation frame.
import { shallowRef, type ShallowRef } from 'vue';

/** A fixed-capacity ring: the oldest entry is overwritten once it is full. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  clear(): void {
    this.items.fill(undefined);
    this.start = 0;
    this.count = 0;
  }

  /** oldest first */
  toArray(): T[] {
    const out = new Array<T>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.items[(this.start + i) % this.capacity] as T;
    return out;
  }
}

export type FrameScheduler = (callback: () => void) => unknown;

const nextFrame: FrameScheduler = (callback) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => callback()) : setTimeout(callback, 16);

/** A ring of `capacity` entries, shown through `list` (a new array at most once per `schedule`d frame). */
export function createBatchedLog<T>(capacity: number, schedule: FrameScheduler = nextFrame) {
  const ring = new RingBuffer<T>(capacity);
  const list: ShallowRef<readonly T[]> = shallowRef([]);
  let scheduled = false;
  /** bumped by clear(): a frame scheduled before it has nothing more to do */
  let generation = 0;

  function flush() {
    scheduled = false;
    list.value = ring.toArray();
  }

  function push(item: T) {
    ring.push(item);
    if (scheduled) return;
    scheduled = true;
    const at = generation;
    schedule(() => {
      if (at === generation) flush();
    });
  }

  function clear() {
    generation++;
    scheduled = false;
    ring.clear();
    list.value = [];
  }

  return { list, push, clear, flush, ring };
}
