/**
 * The rows a table display shows: optionally sorted by one column, then the first `limit` rows. The sort is
 * stable (equal keys keep their order, ascending and descending alike) and puts null and NaN keys last in both
 * directions. Numbers (int64 included) compare numerically, strings by UTF-16 code units, booleans false < true;
 * keys of other types (dates, lists, structs, …) compare by their JSON text.
 */
import { RecordBatch, Schema, Struct, Table, Vector, makeData, vectorFromArray } from 'apache-arrow';

export const MAX_LIMIT = 100_000;

export interface RowOptions {
  /** column to sort by; undefined: keep the table's order */
  sortBy?: string;
  descending: boolean;
  /** rows kept, 1 … MAX_LIMIT */
  limit: number;
}

/** A string param left empty (as an editor form sends it) means "not set". */
export function given(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

export function viewRows(table: Table, { sortBy, descending, limit }: RowOptions): Table {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new Error(`table-view: limit (${limit}) must be an integer from 1 to ${MAX_LIMIT}`);
  const column = given(sortBy);
  if (column === undefined) return table.numRows > limit ? table.slice(0, limit) : table;
  const key = table.getChild(column);
  if (!key) {
    const names = table.schema.fields.map((f) => f.name);
    throw new Error(`table-view: sortBy names the column '${column}', which the table does not have (its columns: ${names.length ? names.join(', ') : 'none'})`);
  }
  return takeRows(table, sortedRows(key, descending).slice(0, limit));
}

/** Row indices in sorted order by the values of `key`. */
export function sortedRows(key: Vector, descending: boolean): number[] {
  const keys: unknown[] = [...(key as Iterable<unknown>)].map(comparable);
  const rows = Array.from({ length: keys.length }, (_, i) => i);
  const sign = descending ? -1 : 1;
  // Array.prototype.sort is stable: ties keep their order.
  return rows.sort((a, b) => {
    const [ka, kb] = [keys[a], keys[b]];
    const missingA = isMissing(ka);
    const missingB = isMissing(kb);
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
    return sign * compare(ka, kb);
  });
}

function comparable(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string' || typeof value === 'boolean') {
    return value;
  }
  if (value instanceof Date) return value.getTime();
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

const isMissing = (value: unknown) => value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));

function compare(a: unknown, b: unknown): number {
  // number and bigint compare with each other exactly; strings and booleans among themselves
  if ((a as number) < (b as number)) return -1;
  if ((a as number) > (b as number)) return 1;
  return 0;
}

/** A new table of these rows, in this order, with the same schema (types, field and schema metadata). */
export function takeRows(table: Table, rows: readonly number[]): Table {
  const fields = table.schema.fields;
  const schema = new Schema(fields, table.schema.metadata);
  const children = fields.map((field, i) => {
    const source = table.getChildAt(i)!;
    // one builder, no high-water mark: a single chunk
    const [data] = vectorFromArray(
      rows.map((row) => plain(source.get(row))),
      field.type,
    ).data;
    return data;
  });
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }))]);
}

/**
 * A value as the builders take it: `get` returns lists as Vectors (views into the table) and structs and maps as
 * row proxies, which a builder would not read; arrays and plain objects it does.
 */
function plain(value: unknown): unknown {
  if (value instanceof Vector) return Array.from(value as Iterable<unknown>, plain);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !ArrayBuffer.isView(value)) {
    const record = value as { toJSON?: () => unknown };
    if (typeof record.toJSON === 'function') {
      const json = record.toJSON();
      if (json !== null && typeof json === 'object' && !Array.isArray(json)) return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, plain(v)]));
    }
  }
  return value;
}
