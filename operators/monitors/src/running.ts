/** Summaries kept over a stream, updated frame by frame in constant memory. */

/**
 * Count, mean and M2 = Σ(x − mean)² of everything merged so far. Merging a group of n values with mean m and
 * M2 is Chan, Golub and LeVeque's pairwise update (1979); a single value (n = 1, M2 = 0) makes it Welford's
 * update (1962). Neither subtracts large sums of squares, so it stays accurate on values with a large offset.
 */
export class RunningMoments {
  count = 0;
  mean = 0;
  m2 = 0;

  merge(count: number, mean: number, m2 = 0): void {
    if (count <= 0) return;
    const total = this.count + count;
    const delta = mean - this.mean;
    this.mean += (delta * count) / total;
    this.m2 += m2 + (delta * delta * this.count * count) / total;
    this.count = total;
  }

  /** population standard deviation (ddof = 0); NaN before anything is merged */
  get std(): number {
    return this.count ? Math.sqrt(this.m2 / this.count) : NaN;
  }

  get average(): number {
    return this.count ? this.mean : NaN;
  }
}

/**
 * Frames per second over the last `window` frame intervals: with t_i the time frame i arrived (s) and
 * k = min(window, i), fps_i = k / (t_i − t_{i−k}). NaN for the first frame, which has no interval yet.
 */
export class Throughput {
  private readonly times: Float64Array;
  private seen = 0;

  constructor(readonly window: number) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`throughput window ${window}: expected an integer ≥ 1`);
    this.times = new Float64Array(window + 1);
  }

  /** Record the arrival of the next frame at `time` (s); returns its fps. */
  record(time: number): number {
    const slots = this.times.length;
    this.times[this.seen % slots] = time;
    const k = Math.min(this.window, this.seen);
    const fps = k ? k / (time - this.times[(this.seen - k) % slots]) : NaN;
    this.seen++;
    return fps;
  }
}

/** When the frames of a stream arrived: the count so far, the time since the first one and the throughput. */
export class Arrivals {
  private readonly throughput: Throughput;
  private start = NaN;
  private count = 0;

  constructor(window: number) {
    this.throughput = new Throughput(window);
  }

  /** The next frame arrived at `time` (s since the Unix epoch). */
  record(time: number): { count: number; time: number; elapsed: number; fps: number } {
    if (this.count === 0) this.start = time;
    return { count: ++this.count, time, elapsed: time - this.start, fps: this.throughput.record(time) };
  }
}

/** Wall-clock time in seconds since the Unix epoch, to the microsecond, never going back within a process. */
export const wallClock = () => (performance.timeOrigin + performance.now()) / 1000;

/** The throughput window param, shared by the monitors' specs. */
export const WINDOW_PARAM = {
  type: 'integer',
  minimum: 1,
  maximum: 100000,
  default: 10,
  units: 'frames',
  description: 'frame intervals the throughput (fps) is measured over',
} as const;
