// A node's queue of incoming frames on one input port, closed by its producer at end of stream. A dropping
// queue (see queues.ts) keeps at most `keep` frames waiting and hands the oldest to `onDrop`.

export class Inbox<T> {
  private readonly items: T[] = [];
  /** when each waiting frame arrived (performance.now()), in the order of `items` */
  private readonly arrivals: number[] = [];
  private closed = false;
  /** consumers waiting for a frame: one, or a replicated node's replicas */
  private waiters: (() => void)[] = [];
  /** frames pushed so far */
  received = 0;
  /** frames dropped so far (dropping queues only) */
  dropped = 0;

  constructor(
    private readonly keep?: number,
    private readonly onDrop?: (item: T) => void,
  ) {}

  push(item: T): void {
    if (this.keep !== undefined && this.items.length >= this.keep) {
      this.arrivals.shift();
      this.dropped++;
      this.onDrop?.(this.items.shift()!);
    }
    this.items.push(item);
    this.arrivals.push(performance.now());
    this.received++;
    this.wake();
  }

  /** Frames waiting to be taken. */
  get waiting(): number {
    return this.items.length;
  }

  /** When the oldest waiting frame arrived (performance.now()), or undefined when none waits. */
  get oldestArrival(): number | undefined {
    return this.arrivals[0];
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The next frame, or undefined once the stream has ended. */
  async take(signal: AbortSignal): Promise<T | undefined> {
    while (!this.items.length && !this.closed) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const waiter = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(waiter);
      });
    }
    this.arrivals.shift();
    return this.items.shift();
  }

  /** Frames still queued (released by the caller after an aborted run). */
  drain(): T[] {
    this.arrivals.splice(0);
    return this.items.splice(0);
  }
}
