// Rings of reusable slot files, one ring per output port, with reference counts.
//
// A slot is granted to its producer before a call, held by each consumer of the frame written into it,
// optionally pinned by the result cache, and reused once nobody holds it. A ring lets at most `capacity`
// slots be in flight (granted, or held by a consumer that has not finished with it, pinned or not); a
// producer asking for more waits: that is the backpressure. A slot only pinned (kept by the cache after every
// consumer let go) is not in flight: the ring makes new files instead, and trims the surplus once it is
// unpinned, so the cache costs its budget and never holds back a producer.
import { chownSync, closeSync, existsSync, fchownSync, ftruncateSync, mkdirSync, openSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PAGE = 4096;
const MIN_SLOT = 64 * 1024 + PAGE;

export class Slot {
  refs = 0;
  granted = false;
  /** pins by the result cache and by nodes keeping a frame aside for reuse; a pinned slot is not in flight */
  pins = 0;
  constructor(
    readonly name: string,
    public size: number,
  ) {}

  get free(): boolean {
    return this.refs === 0 && !this.granted && this.pins === 0;
  }

  get inFlight(): boolean {
    return this.granted || this.refs > 0;
  }
}

/** How big one frame may be: the session's per-frame maximum, and what the shared-memory folder has free. */
export interface SizeLimits {
  maxFrameBytes: number;
  /** bytes still free in the shared-memory folder: read now when `fresh`, else possibly a reading a little old */
  freeBytes(fresh?: boolean): number;
  /** this session's slots grew by `bytes` (taken off a reading until the next one) */
  took(bytes: number): void;
}

export function freeBytesOf(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

/**
 * The free bytes of a shared-memory folder, read at most every `maxAgeMs`: every grant states how far its
 * producer may grow the slot, and a statfs per grant was a system call on the path of every frame. What this
 * session's own slots grew by since the reading is taken off it. A request to grow (allocate) reads anew.
 */
export function freeSpace(dir: string, maxAgeMs = 50): Pick<SizeLimits, 'freeBytes' | 'took'> {
  let reading = 0;
  let readAt = -Infinity;
  return {
    freeBytes(fresh = false) {
      const now = performance.now();
      if (fresh || now - readAt >= maxAgeMs) {
        reading = freeBytesOf(dir);
        readAt = now;
      }
      return Math.max(0, reading);
    },
    took(bytes) {
      reading -= bytes;
    },
  };
}

const MiB = 2 ** 20;
const sizeText = (bytes: number) => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`);

/** A frame or slot that does not fit the limits: refused before anything is written. */
export class SlotLimitError extends Error {
  override name = 'SlotLimitError';
}

export class PortRing {
  private readonly slots: Slot[] = [];
  private waiters: (() => void)[] = [];
  private counter = 0;
  /** size of the largest frame seen: new grants are at least this big */
  private sizeHint = MIN_SLOT;
  /** the slot granted for the call in progress (a node makes one call at a time) */
  outstanding?: Slot;

  constructor(
    private readonly dir: string,
    readonly node: string,
    readonly port: string,
    private readonly capacity: number,
    private readonly limits: SizeLimits,
    private readonly onDelete: (slot: string) => void,
    private readonly owner?: { uid: number; gid: number },
  ) {
    // a node's slots live in its own folder, so a container can be given write access to its own outputs only
    this.prefix = `${node}/${port}`;
  }

  readonly prefix: string;

  /** The largest size a slot of this ring may have now; growing past `size` needs free shared memory. */
  limitFor(slot: Slot): number {
    return Math.max(slot.size, Math.min(this.limits.maxFrameBytes, slot.size + this.limits.freeBytes()));
  }

  private checkSize(slot: Slot, size: number): void {
    const what = `output "${this.port}" of node "${this.node}" needs a slot of ${sizeText(size)}`;
    if (size > this.limits.maxFrameBytes) throw new SlotLimitError(`${what}, more than the per-frame maximum of ${sizeText(this.limits.maxFrameBytes)} (maxFrameBytes)`);
    const free = this.limits.freeBytes(true);
    if (size - slot.size > free) throw new SlotLimitError(`${what}, more than the ${sizeText(free)} free in the shared-memory folder ${this.dir}`);
  }

  private inFlight(): number {
    return this.slots.filter((s) => s.inFlight).length;
  }

  private resize(slot: Slot, size: number): void {
    const fd = openSync(join(this.dir, slot.name), 'r+');
    try {
      ftruncateSync(fd, size);
    } finally {
      closeSync(fd);
    }
    this.limits.took(size - slot.size);
    slot.size = size;
  }

  private create(): Slot {
    const slot = new Slot(`${this.prefix}.${this.counter++}`, 0);
    const fd = openSync(join(this.dir, slot.name), 'wx', 0o600);
    try {
      if (this.owner) fchownSync(fd, this.owner.uid, this.owner.gid);
    } finally {
      closeSync(fd);
    }
    this.slots.push(slot);
    return slot;
  }

  /** A free slot for the producer's next frame, or undefined while the ring is full. */
  tryGrant(): Slot | undefined {
    if (this.inFlight() >= this.capacity) return undefined;
    const slot = this.slots.find((s) => s.free) ?? this.create();
    if (slot.size < this.sizeHint) this.resize(slot, this.sizeHint);
    slot.granted = true;
    this.outstanding = slot;
    return slot;
  }

  /** A free slot for the producer's next frame; waits while the ring is full. */
  async grant(signal: AbortSignal): Promise<Slot> {
    for (;;) {
      signal.throwIfAborted();
      const slot = this.tryGrant();
      if (slot) return slot;
      await new Promise<void>((wake, fail) => {
        const onAbort = () => fail(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          wake();
        });
      });
    }
  }

  /** The producer needs more room in its granted slot (the `allocate` request, naming that slot when it knows it). */
  grow(bytes: number, name?: string): Slot {
    const slot = this.outstanding;
    if (!slot) throw new Error(`no slot of ${this.prefix} is granted right now`);
    if (name !== undefined && name !== slot.name) throw new Error(`slot ${name} is not the one granted to ${this.prefix} now (${slot.name})`);
    if (!(Number.isSafeInteger(bytes) && bytes > 0)) throw new RangeError(`allocate: bytes must be a positive integer, got ${bytes}`);
    const size = Math.ceil(bytes / PAGE) * PAGE;
    if (size > slot.size) {
      this.checkSize(slot, size);
      this.resize(slot, size);
    }
    this.sizeHint = Math.max(this.sizeHint, slot.size);
    return slot;
  }

  /**
   * The producer grew its granted slot itself (up to the grant's `limit`) and answered with the new size: the
   * file must really have that size, within the limit it was given. Throws a message for the run's error otherwise.
   */
  adopt(slot: Slot, size: number, limit: number): void {
    // checked on every frame: a file shrunk behind the engine's back would make its mapping fault (SIGBUS);
    // one stat, as the mappings open the path (a replaced file is the one they would map)
    const actual = statSync(join(this.dir, slot.name)).size;
    if (size !== actual || size < slot.size || size > limit) {
      throw new Error(`answered with size ${size} for slot ${slot.name}, which is ${actual} bytes (granted ${slot.size}, limit ${limit})`);
    }
    this.limits.took(size - slot.size);
    slot.size = size;
    this.sizeHint = Math.max(this.sizeHint, size);
  }

  /** The call answered: the granted slot now holds a frame for `holders` (consumers and cache), or nothing. */
  settle(slot: Slot, holders: number): void {
    slot.granted = false;
    if (this.outstanding === slot) this.outstanding = undefined;
    slot.refs += holders;
    this.sizeHint = Math.max(this.sizeHint, slot.size);
    this.changed(slot);
  }

  hold(slot: Slot): void {
    slot.refs++;
  }

  release(slot: Slot): void {
    if (slot.refs <= 0) throw new Error(`slot ${slot.name} released more often than held`);
    slot.refs--;
    this.changed(slot);
  }

  pin(slot: Slot): void {
    slot.pins++;
    this.changed(slot);
  }

  unpin(slot: Slot): void {
    if (slot.pins <= 0) throw new Error(`slot ${slot.name} unpinned more often than pinned`);
    slot.pins--;
    this.changed(slot);
  }

  /** Forget every grant and hold (after a failed run); pins stay: their owners let go of them themselves. */
  reset(): void {
    for (const slot of this.slots) {
      slot.granted = false;
      slot.refs = 0;
    }
    this.outstanding = undefined;
    for (const slot of [...this.slots]) this.changed(slot);
  }

  private changed(slot: Slot): void {
    if (slot.free && this.slots.length > this.capacity) {
      this.slots.splice(this.slots.indexOf(slot), 1);
      // gone already when the session directory was removed first (a close during a failed run's cleanup)
      rmSync(join(this.dir, slot.name), { force: true });
      this.onDelete(slot.name);
    }
    if (this.inFlight() < this.capacity && this.waiters.length) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }
}

/** The rings of one session, by "node.port". */
export class SlotPool {
  private readonly rings = new Map<string, PortRing>();

  constructor(
    private readonly dir: string,
    /** slots a port's ring may have in flight */
    private readonly capacity: (node: string, port: string) => number,
    private readonly limits: SizeLimits,
    private readonly onDelete: (slot: string) => void,
    private readonly owner?: { uid: number; gid: number },
  ) {}

  /** The folder of a node's slots (created for the operators' user): container runtimes mount it writable. */
  nodeFolder(node: string): string {
    const folder = join(this.dir, node);
    if (!existsSync(folder)) {
      mkdirSync(folder, { mode: 0o700 });
      if (this.owner) chownSync(folder, this.owner.uid, this.owner.gid);
    }
    return folder;
  }

  ring(node: string, port: string): PortRing {
    const key = `${node}.${port}`;
    let ring = this.rings.get(key);
    if (!ring) {
      this.nodeFolder(node);
      ring = new PortRing(this.dir, node, port, this.capacity(node, port), this.limits, this.onDelete, this.owner);
      this.rings.set(key, ring);
    }
    return ring;
  }

  all(): PortRing[] {
    return [...this.rings.values()];
  }
}
