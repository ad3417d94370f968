import { operator, table, type NDArray, type ProcessContext, type TableFrame } from '@emflow/sdk';
import { DRIFT_BOXES } from './drift.js';
import { History, rowTable, StreamMonitor } from './monitor.js';

export interface FrameMonitorParams {
  window: number;
  every: number;
  keep: number;
  driftBox: number;
}

/** Wall-clock time in seconds since the Unix epoch, to the microsecond, never going back within a process. */
const wallClock = () => (performance.timeOrigin + performance.now()) / 1000;

@operator({
  name: 'frame-monitor',
  version: '1.0.0',
  description:
    'Streaming monitor (as Scipion\'s): one row of figures per frame of a stream and running summaries of the stream so far. ' +
    'Columns: frame (index in the stream), count (frames seen in this run), time (arrival, s since the Unix epoch), elapsed (s since frame 0), ' +
    'fps (frames per second over the last `window` frame intervals: k / (t_i − t_{i−k}), k = min(window, i)), ' +
    'mean, std (population), min, max of the frame (float64; NaN if it has a NaN), ' +
    'meanOfMeans and stdOfMeans (Welford: mean and population std of the per-frame means so far), ' +
    'pooledMean and pooledStd (Chan et al.: mean and population std of every element of every frame so far; frames with a NaN are left out of these four), ' +
    'sharpness (2-D frames: variance of the 4-neighbour Laplacian over interior pixels, scipy.ndimage.laplace(x)[1:-1, 1:-1].var()), ' +
    'driftY, driftX (2-D frames: displacement from frame 0 in px, frame ≈ scipy.ndimage.shift(frame0, (driftY, driftX)), from the FFT ' +
    'cross-correlation peak of a centred driftBox box with parabolic sub-pixel refinement; use drift-estimate for precise registration). ' +
    'NaN where a figure has no value. The state starts afresh at frame 0 of every run; run the node as one process (not as replicas).',
  inputs: { image: { type: 'ndarray', description: 'the stream: arrays of any shape and dtype (sharpness and drift need 2-D images)' } },
  outputs: {
    row: { type: 'table', description: 'one row per frame: the figures of this frame and of the stream so far (frame, count int32; the rest float64)' },
    history: {
      type: 'table',
      description: 'every row so far (the last `keep`), the same columns: the table to plot; emitted on frames 0, every, 2·every, …',
    },
  },
  params: {
    window: { type: 'integer', minimum: 1, maximum: 100000, default: 10, units: 'frames', description: 'frame intervals the throughput (fps) is measured over' },
    every: { type: 'integer', minimum: 1, maximum: 1000000, default: 1, units: 'frames', description: 'emit history on every this many frames (its tail after the last one stays in `row`)' },
    keep: { type: 'integer', minimum: 0, maximum: 10000000, default: 0, units: 'rows', description: 'rows history holds: the most recent ones (0: all)' },
    driftBox: {
      type: 'integer',
      enum: [...DRIFT_BOXES],
      default: 512,
      units: 'px',
      description: 'edge of the centred square box cross-correlated with frame 0 for drift (the largest power of two that fits if the frame is smaller); 0: no drift',
    },
  },
  display: { category: 'measure' },
})
export class FrameMonitor {
  private monitor: StreamMonitor | undefined;
  private history = new History();
  private told = 0;

  /** `clock`: seconds since the Unix epoch (tests pass their own). */
  constructor(private readonly clock: () => number = wallClock) {}

  process({ image }: { image: NDArray }, params: FrameMonitorParams, ctx: ProcessContext): { row: TableFrame; history?: TableFrame } {
    // warm state is one run's: frame 0 starts a new stream (PROTOCOL.md §8.6)
    if (ctx.frame === 0 || !this.monitor) {
      this.monitor = new StreamMonitor({ window: params.window, driftBox: params.driftBox });
      this.history = new History();
      this.told = 0;
    }
    const row = this.monitor.observe(image.values(), image.shape, ctx.frame, this.clock());
    this.history.push(row);
    for (const note of this.monitor.notes.slice(this.told)) console.warn(`frame-monitor: ${note}`);
    this.told = this.monitor.notes.length;
    return {
      row: table(rowTable(row)),
      ...(ctx.frame % params.every === 0 && { history: table(this.history.table(params.keep)) }),
    };
  }
}
