/** A monitor's rows: a one-row table per frame, and the cumulative table a report plots. */
import { table, type TableFrame } from '@emflow/sdk';
import { tableFromArrays, type Table } from 'apache-arrow';

export type RowOf<C extends string> = Record<C, number>;

/** Every row of a stream so far, column by column; the `integers` columns are int32, the others float64. */
export class Rows<C extends string> {
  private readonly values: Map<C, number[]>;

  constructor(
    readonly columns: readonly C[],
    private readonly integers: ReadonlySet<C>,
  ) {
    this.values = new Map(columns.map((c) => [c, []]));
  }

  get length(): number {
    return this.values.get(this.columns[0])!.length;
  }

  push(row: RowOf<C>): void {
    for (const column of this.columns) this.values.get(column)!.push(row[column]);
  }

  /** The last `keep` rows (0: all) as a table. */
  table(keep = 0): Table {
    const from = keep > 0 ? Math.max(0, this.length - keep) : 0;
    return this.build((column) => this.values.get(column)!.slice(from));
  }

  /** One row as a one-row table with the same columns. */
  rowTable(row: RowOf<C>): Table {
    return this.build((column) => [row[column]]);
  }

  private build(values: (column: C) => number[]): Table {
    return tableFromArrays(
      Object.fromEntries(this.columns.map((name) => [name, this.integers.has(name) ? Int32Array.from(values(name)) : Float64Array.from(values(name))])),
    );
  }
}

/**
 * What the cumulative output emits: on frames 0, every, 2·every, …, the last `keep` rows (0: all); with every = 0,
 * nothing. Off by default: `emflow report` plots a stream of one-row tables (`row`) column by column against the
 * frame, and would plot a stream of growing tables as per-frame column means; history is for a live plot-view or
 * table-view (and costs O(rows) per frame).
 */
export interface HistoryParams {
  every: number;
  keep: number;
}

/** Record `row` of frame `frame`; the monitor's outputs: `row`, and `history` on every `every`-th frame. */
export function emitRow<C extends string>(rows: Rows<C>, row: RowOf<C>, frame: number, { every, keep }: HistoryParams): { row: TableFrame; history?: TableFrame } {
  rows.push(row);
  return {
    row: table(rows.rowTable(row)),
    ...(every > 0 && frame % every === 0 && { history: table(rows.table(keep)) }),
  };
}

/** The params of `every` and `keep`, shared by the monitors' specs. */
export const HISTORY_PARAMS = {
  every: {
    type: 'integer',
    minimum: 0,
    maximum: 1000000,
    default: 0,
    units: 'frames',
    description: 'emit history on frames 0, every, 2·every, … (0: never; e.g. 1 for a live plot-view of it; rows after the last one are in `row` only)',
  },
  keep: { type: 'integer', minimum: 0, maximum: 10000000, default: 0, units: 'rows', description: 'rows history holds: the most recent ones (0: all)' },
} as const;
