/** The state of one monitored stream (one run) and the rows it produces, one per frame. */
import { tableFromArrays, type Table } from 'apache-arrow';
import { DriftTracker, driftBoxSize } from './drift.js';
import { intensity, laplacianVariance } from './figures.js';
import { RunningMoments, Throughput } from './running.js';

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
const INTEGER_COLUMNS: ReadonlySet<Column> = new Set(['frame', 'count']);

export interface MonitorOptions {
  /** frame intervals the throughput is measured over */
  window: number;
  /** edge of the centred box cross-correlated with the first frame's (px); 0: no drift */
  driftBox: number;
}

export class StreamMonitor {
  private readonly means = new RunningMoments();
  private readonly pixels = new RunningMoments();
  private readonly throughput: Throughput;
  private start = NaN;
  private count = 0;
  private drift: DriftTracker | undefined;
  /** said once per stream: why drift is NaN */
  readonly notes: string[] = [];

  constructor(private readonly options: MonitorOptions) {
    this.throughput = new Throughput(options.window);
  }

  /**
   * The row of the next frame: `values` in C order of `shape`, `frame` its index in the stream, `time` when it
   * arrived (s since the Unix epoch). Frames with a NaN element get NaN figures and are left out of the running
   * ones (meanOfMeans … pooledStd), which would otherwise stay NaN for the rest of the stream.
   */
  observe(values: ArrayLike<number>, shape: readonly number[], frame: number, time: number): Row {
    if (this.count === 0) this.start = time;
    this.count++;
    const fps = this.throughput.record(time);
    const figures = intensity(values);
    if (Number.isFinite(figures.mean) && Number.isFinite(figures.squaredDeviations)) {
      this.means.merge(1, figures.mean);
      this.pixels.merge(values.length, figures.mean, figures.squaredDeviations);
    }
    const image = shape.length === 2 ? { height: shape[0], width: shape[1] } : undefined;
    return {
      frame,
      count: this.count,
      time,
      elapsed: time - this.start,
      fps,
      mean: figures.mean,
      std: figures.std,
      min: figures.min,
      max: figures.max,
      meanOfMeans: this.means.average,
      stdOfMeans: this.means.std,
      pooledMean: this.pixels.average,
      pooledStd: this.pixels.std,
      sharpness: image ? laplacianVariance(values, image.height, image.width) : NaN,
      ...this.driftOf(values, shape),
    };
  }

  private driftOf(values: ArrayLike<number>, shape: readonly number[]): { driftY: number; driftX: number } {
    const none = { driftY: NaN, driftX: NaN };
    if (this.count === 1) {
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

/** The rows of a stream so far, column by column. */
export class History {
  private readonly columns = new Map<Column, number[]>(COLUMNS.map((c) => [c, []]));

  get length(): number {
    return this.columns.get('frame')!.length;
  }

  push(row: Row): void {
    for (const column of COLUMNS) this.columns.get(column)!.push(row[column]);
  }

  /** The last `keep` rows (0: all) as a table with the columns of `rowTable`. */
  table(keep = 0): Table {
    const from = keep > 0 ? Math.max(0, this.length - keep) : 0;
    return columnsTable((column) => this.columns.get(column)!.slice(from));
  }
}

/** One row as a one-row table. */
export const rowTable = (row: Row): Table => columnsTable((column) => [row[column]]);

function columnsTable(values: (column: Column) => number[]): Table {
  return tableFromArrays(
    Object.fromEntries(COLUMNS.map((name) => [name, INTEGER_COLUMNS.has(name) ? Int32Array.from(values(name)) : Float64Array.from(values(name))])),
  );
}
