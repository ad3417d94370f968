// A node run as several warm replicas (`"replicas": { "min", "max", "threshold" }` on the node): the replicas
// take frames from the node's one input queue as each becomes free, and publish their results in input order,
// so consumers see the stream as one process would have made it. With max > min, a replica is added while
// the queue stays deeper than `threshold` at two checks in a row, and a replica beyond `min` that found nothing
// to do for IDLE_MS is stopped; every change is reported.
import type { HeldFrame } from './cache.js';
import type { Inbox } from './inbox.js';
import { whenAborted } from './waits.js';
import type { Worker } from './workers.js';
import type { Replicas } from '../validate/pipeline.js';

/** One replica: its operator, and the key of its slot rings and slot folder (the node id for the first). */
export interface Unit {
  worker: Worker;
  rings: string;
}

/** The worker key of replica `r` of a node: the node id itself for the first (ids never contain a dot). */
export const replicaKey = (node: string, r: number) => (r === 0 ? node : `${node}.r${r}`);
/** The node a worker key belongs to. */
export const nodeOfKey = (key: string) => key.split('.')[0];

/** How often the queue depth is checked for scaling up, and how long a replica may idle before it is stopped. */
export const SCALE_CHECK_MS = 250;
export const IDLE_MS = 2000;
const DEFAULT_THRESHOLD = 2;

export interface ReplicaChange {
  /** ms since the node started */
  atMs: number;
  replicas: number;
  reason: string;
}

export interface ReplicatedNode {
  node: string;
  config: Replicas;
  inbox: Inbox<HeldFrame>;
  signal: AbortSignal;
  /** the replicas running when the node starts (at least `min`) */
  units: Unit[];
  /** start one more replica */
  add(): Promise<Unit>;
  /** stop a replica that has nothing to do */
  remove(unit: Unit): Promise<void>;
  changed(change: ReplicaChange): void;
  /**
   * process one input frame on a replica: `index` is its place in the input stream, and `turn` resolves when
   * the replica may publish (once every earlier frame's outputs are published)
   */
  work(unit: Unit, item: HeldFrame, index: number, turn: () => Promise<void>): Promise<void>;
  /** the input frame is done with (processed, or the run failed) */
  release(item: HeldFrame): void;
  /** a replica failed: the run fails at once (its other calls are cancelled), before the siblings have settled */
  fail(error: unknown): void;
}

export async function runReplicated(node: ReplicatedNode): Promise<number> {
  const started = performance.now();
  // a failing replica stops its siblings (waiting for frames or their turn) at once
  const local = new AbortController();
  const stop = (reason: unknown) => {
    local.abort(reason);
    node.fail(reason);
  };
  const signal = AbortSignal.any([node.signal, local.signal]);
  const max = node.config.max ?? node.config.min;
  const threshold = node.config.threshold ?? DEFAULT_THRESHOLD;
  let taken = 0;
  let published = 0; // the index of the input frame whose outputs publish next
  const turns = new Map<number, () => void>();
  const passTurn = () => {
    published++;
    turns.get(published)?.();
    turns.delete(published);
  };
  const turnOf = (index: number) => async () => {
    if (published === index) return;
    const aborted = whenAborted(signal, 'aborted' as const);
    try {
      const outcome = await Promise.race([new Promise<void>((resolve) => turns.set(index, resolve)), aborted.promise]);
      if (outcome === 'aborted') throw signal.reason;
    } finally {
      aborted.cancel();
    }
  };

  let active = node.units.length;
  let peak = active;
  const change = (reason: string) => node.changed({ atMs: performance.now() - started, replicas: active, reason });

  /** Take frames until the stream ends (or, beyond `min`, until idle for IDLE_MS). */
  async function serve(unit: Unit, removable: boolean): Promise<void> {
    for (;;) {
      const idle = removable ? AbortSignal.timeout(IDLE_MS) : undefined;
      let item: HeldFrame | undefined;
      try {
        item = await node.inbox.take(idle ? AbortSignal.any([signal, idle]) : signal);
      } catch (error) {
        if (signal.aborted || !idle?.aborted) throw error;
        if (active <= node.config.min) continue;
        active--;
        change(`idle for ${IDLE_MS / 1000} s`);
        await node.remove(unit);
        return;
      }
      if (!item) return;
      const index = taken++;
      let passed = false;
      const turn = turnOf(index);
      try {
        await node.work(unit, item, index, async () => {
          await turn();
          passed = true;
        });
        // a call that published nothing (it failed before, or produced no frame) still gives up its turn
        if (!passed) await turn();
        passTurn();
      } finally {
        node.release(item);
      }
    }
  }

  const loops = new Set<Promise<void>>();
  // the first failure stops the siblings at once (they may be waiting for a frame or their turn)
  const track = (loop: Promise<void>) => {
    loop.catch(stop);
    loops.add(loop);
  };
  node.units.forEach((unit, r) => track(serve(unit, r >= node.config.min)));
  let finished = false;
  // scaling up: while the queue stays deep, a replica per `threshold` frames waiting (at least one), up to max,
  // started together (a process takes a while to start: one at a time would lag behind a fast acquisition)
  let deep = 0;
  let starting = 0;
  const scaler =
    max > node.config.min
      ? setInterval(() => {
          deep = node.inbox.waiting >= threshold ? deep + 1 : 0;
          if (deep < 2 || starting || active >= max || signal.aborted) return;
          const depth = node.inbox.waiting;
          const more = Math.min(max - active, Math.max(1, Math.floor(depth / threshold)));
          starting = more;
          for (let i = 0; i < more; i++) {
            node
              .add()
              .then((unit) => {
                if (finished) return; // the stream ended meanwhile: the new replica stays warm for the next run
                active++;
                peak = Math.max(peak, active);
                change(`${depth} frames waiting (threshold ${threshold})`);
                track(serve(unit, true));
              })
              .catch(() => undefined) // a replica that cannot start leaves the others to do the work
              .finally(() => {
                starting--;
                deep = 0;
              });
          }
        }, SCALE_CHECK_MS)
      : undefined;
  try {
    // Replicas may be added while the others work: wait until every loop, added ones included, has settled,
    // so that no call is still in flight when the run's slots are reset. The first failure ends the others
    // (their calls are cancelled through the run's signal, which the caller aborts on this rejection).
    let failure: { error: unknown } | undefined;
    for (let seen = 0; seen < loops.size; ) {
      seen = loops.size;
      const failed = (await Promise.allSettled([...loops])).find((o): o is PromiseRejectedResult => o.status === 'rejected');
      failure ??= failed && { error: failed.reason };
    }
    if (failure) throw failure.error;
  } finally {
    finished = true;
    if (scaler) clearInterval(scaler);
  }
  return peak;
}
