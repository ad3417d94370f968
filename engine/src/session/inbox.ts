// A node's queue of incoming frames on one input port, closed by its producer at end of stream.

export class Inbox<T> {
  private readonly items: T[] = [];
  private closed = false;
  private waiter?: () => void;
  /** frames pushed so far */
  received = 0;

  push(item: T): void {
    this.items.push(item);
    this.received++;
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** The next frame, or undefined once the stream has ended. */
  async take(signal: AbortSignal): Promise<T | undefined> {
    while (!this.items.length && !this.closed) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiter = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
    }
    return this.items.shift();
  }

  /** Frames still queued (released by the caller after an aborted run). */
  drain(): T[] {
    return this.items.splice(0);
  }
}
