/**
 * count-monitor: counts the frames of any stream (arrays, tables, JSON) and what they hold, measures its throughput,
 * and logs a warning when the throughput falls below a floor, and a line when it is back above it.
 */
import { operator, type JsonFrame, type NDArray, type ProcessContext, type TableFrame } from '@emflow/sdk';
import { emitRow, HISTORY_PARAMS, Rows } from './rows.js';
import { Arrivals, wallClock, WINDOW_PARAM } from './running.js';

/** The columns of a row, in order; `frame`, `count` and `alert` are int32, the others float64 (NaN: no value). */
export const COUNT_COLUMNS = ['frame', 'count', 'time', 'elapsed', 'fps', 'meanFps', 'items', 'totalItems', 'alert'] as const;
export type CountColumn = (typeof COUNT_COLUMNS)[number];
export type CountRow = Record<CountColumn, number>;
const newRows = () => new Rows<CountColumn>(COUNT_COLUMNS, new Set<CountColumn>(['frame', 'count', 'alert']));

export interface CountMonitorParams {
  window: number;
  minFps: number;
  every: number;
  keep: number;
}

@operator({
  name: 'count-monitor',
  version: '1.0.0',
  description:
    'Streaming monitor of any stream: counts its frames and what they hold and measures its throughput, one row per frame. ' +
    'Columns: frame (index in the stream), count (frames seen in this run), time (arrival, s since the Unix epoch), elapsed (s since frame 0), ' +
    'fps (frames per second over the last `window` frame intervals: k / (t_i − t_{i−k}), k = min(window, i)), meanFps ((count − 1) / elapsed), ' +
    'items (elements of an array, rows of a table, e.g. particles picked in a micrograph; 1 for JSON) and totalItems so far, ' +
    'alert (1 while fps is below minFps, else 0). With minFps > 0, once `window` intervals have been seen, fps falling below minFps logs a warning ' +
    'and rising back to it logs a line, once per change. A monitor sees frames as they reach it: a stall shows as a low fps on the next frame. ' +
    'The state starts afresh at frame 0 of every run; run the node as one process (not as replicas).',
  inputs: {
    array: { type: 'ndarray', required: false, description: 'a stream of arrays (connect exactly one of the inputs)' },
    table: { type: 'table', required: false, description: 'a stream of tables (connect exactly one of the inputs)' },
    json: { type: 'json', required: false, description: 'a stream of JSON values or scalars (connect exactly one of the inputs)' },
  },
  outputs: {
    row: { type: 'table', description: 'one row per frame: the counts and throughput so far (frame, count, alert int32; the rest float64)' },
    history: { type: 'table', description: 'every row so far (the last `keep`), the same columns, for a live plot-view or table-view; emitted on frames 0, every, 2·every, … (every = 0, the default: never)' },
  },
  params: {
    window: WINDOW_PARAM,
    minFps: { type: 'number', minimum: 0, default: 0, units: 'frames/s', description: 'throughput floor: below it a warning is logged and alert is 1 (0: no floor)' },
    ...HISTORY_PARAMS,
  },
  display: { category: 'measure' },
})
export class CountMonitor {
  private arrivals: Arrivals | undefined;
  private rows = newRows();
  private totalItems = 0;
  private alerting = false;

  /** `clock`: seconds since the Unix epoch (tests pass their own). */
  constructor(private readonly clock: () => number = wallClock) {}

  process(inputs: { array?: NDArray; table?: TableFrame; json?: JsonFrame }, params: CountMonitorParams, ctx: ProcessContext) {
    const given = Object.entries(inputs).filter(([, frame]) => frame !== undefined);
    if (given.length !== 1) {
      throw new Error(`count-monitor: connect exactly one of the inputs array, table and json (frames came on ${given.map(([port]) => port).join(', ') || 'none'})`);
    }
    // warm state is one run's: frame 0 starts a new stream (PROTOCOL.md §8.6)
    if (ctx.frame === 0 || !this.arrivals) {
      this.arrivals = new Arrivals(params.window);
      this.rows = newRows();
      this.totalItems = 0;
      this.alerting = false;
    }
    const arrival = this.arrivals.record(this.clock());
    const items = inputs.array ? inputs.array.size : inputs.table ? inputs.table.table.numRows : 1;
    this.totalItems += items;
    const judged = params.minFps > 0 && arrival.count > params.window;
    const below = judged && arrival.fps < params.minFps;
    if (below !== this.alerting) {
      const figure = `${arrival.fps.toPrecision(3)} frames/s over the last ${params.window} frames (frame ${ctx.frame})`;
      if (below) console.warn(`count-monitor: throughput ${figure} is below minFps ${params.minFps}`);
      else console.log(`count-monitor: throughput ${figure} is back at minFps ${params.minFps} or above`);
      this.alerting = below;
    }
    const row: CountRow = {
      frame: ctx.frame,
      ...arrival,
      meanFps: arrival.count > 1 ? (arrival.count - 1) / arrival.elapsed : NaN,
      items,
      totalItems: this.totalItems,
      alert: below ? 1 : 0,
    };
    return emitRow(this.rows, row, ctx.frame, params);
  }
}
