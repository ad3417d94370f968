/**
 * frame-monitor: per frame of a stream, a row of the frame's figures (statistics, sharpness, drift against frame 0)
 * and of the stream so far (running statistics, throughput). StreamMonitor is the state of one stream (one run).
 */
import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { DRIFT_BOXES, DriftTracker, driftBoxSize } from './drift.js';
import { intensity, laplacianVariance } from './figures.js';
import { emitRow, HISTORY_PARAMS, Rows } from './rows.js';
import { Arrivals, RunningMoments, wallClock, WINDOW_PARAM } from './running.js';

/** The columns of a row, in order; `frame` and `count` are int32, the others float64 (NaN: no value). */
export const COLUMNS = [
  'frame',
  'count',
  'time',
  'elapsed',
  'fps',
  'mean',
  'std',
  'min',
  'max',
  'meanOfMeans',
  'stdOfMeans',
  'pooledMean',
  'pooledStd',
  'sharpness',
  'driftY',
  'driftX',
] as const;
export type Column = (typeof COLUMNS)[number];
export type Row = Record<Column, number>;
/** frame and count are int32 columns, the others float64 */
const newRows = () => new Rows<Column>(COLUMNS, new Set<Column>(['frame', 'count']));

export interface MonitorOptions {
  /** frame intervals the throughput is measured over */
  window: number;
  /** edge of the centred box cross-correlated with the first frame's (px); 0: no drift */
  driftBox: number;
}

export class StreamMonitor {
  private readonly means = new RunningMoments();
  private readonly pixels = new RunningMoments();
  private readonly arrivals: Arrivals;
  private drift: DriftTracker | undefined;
  /** said once per stream: why drift is NaN */
  readonly notes: string[] = [];

  constructor(private readonly options: MonitorOptions) {
    this.arrivals = new Arrivals(options.window);
  }

  /**
   * The row of the next frame: `values` in C order of `shape`, `frame` its index in the stream, `time` when it
   * arrived (s since the Unix epoch). Frames with a NaN element get NaN figures and are left out of the running
   * ones (meanOfMeans … pooledStd), which would otherwise stay NaN for the rest of the stream.
   */
  observe(values: ArrayLike<number>, shape: readonly number[], frame: number, time: number): Row {
    const arrival = this.arrivals.record(time);
    const figures = intensity(values);
    if (Number.isFinite(figures.mean) && Number.isFinite(figures.squaredDeviations)) {
      this.means.merge(1, figures.mean);
      this.pixels.merge(values.length, figures.mean, figures.squaredDeviations);
    }
    const image = shape.length === 2 ? { height: shape[0], width: shape[1] } : undefined;
    return {
      frame,
      ...arrival,
      mean: figures.mean,
      std: figures.std,
      min: figures.min,
      max: figures.max,
      meanOfMeans: this.means.average,
      stdOfMeans: this.means.std,
      pooledMean: this.pixels.average,
      pooledStd: this.pixels.std,
      sharpness: image ? laplacianVariance(values, image.height, image.width) : NaN,
      ...this.driftOf(values, shape, arrival.count === 1),
    };
  }

  private driftOf(values: ArrayLike<number>, shape: readonly number[], first: boolean): { driftY: number; driftX: number } {
    const none = { driftY: NaN, driftX: NaN };
    if (first) {
      const box = shape.length === 2 ? driftBoxSize(shape[0], shape[1], this.options.driftBox) : 0;
      if (box) this.drift = new DriftTracker(values, shape[0], shape[1], box);
      else if (this.options.driftBox > 0) this.note(`no drift: the first frame is [${shape.join(', ')}], not an image of at least 4×4 pixels`);
    }
    if (!this.drift) return none;
    if (shape.length !== 2 || shape[0] !== this.drift.height || shape[1] !== this.drift.width) {
      this.note(`no drift for frames of another shape than the first frame's [${this.drift.height}, ${this.drift.width}], e.g. [${shape.join(', ')}]`);
      return none;
    }
    const { dy, dx } = this.drift.measure(values);
    if (Number.isNaN(dy)) this.note('no drift for frames with a non-finite pixel in the box (or when the first frame has one)');
    return { driftY: dy, driftX: dx };
  }

  private note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }
}

export interface FrameMonitorParams {
  window: number;
  every: number;
  keep: number;
  driftBox: number;
}

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
      description: 'every row so far (the last `keep`), the same columns, for a live plot-view or table-view; emitted on frames 0, every, 2·every, … (every = 0, the default: never)',
    },
  },
  params: {
    window: WINDOW_PARAM,
    ...HISTORY_PARAMS,
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
  private rows = newRows();
  private told = 0;

  /** `clock`: seconds since the Unix epoch (tests pass their own). */
  constructor(private readonly clock: () => number = wallClock) {}

  process({ image }: { image: NDArray }, params: FrameMonitorParams, ctx: ProcessContext) {
    // warm state is one run's: frame 0 starts a new stream (PROTOCOL.md §8.6)
    if (ctx.frame === 0 || !this.monitor) {
      this.monitor = new StreamMonitor({ window: params.window, driftBox: params.driftBox });
      this.rows = newRows();
      this.told = 0;
    }
    const row = this.monitor.observe(image.values(), image.shape, ctx.frame, this.clock());
    for (const note of this.monitor.notes.slice(this.told)) console.warn(`frame-monitor: ${note}`);
    this.told = this.monitor.notes.length;
    return emitRow(this.rows, row, ctx.frame, params);
  }
}
