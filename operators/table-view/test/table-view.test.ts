import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Field, Float64, Int32, Int64, List, makeData, RecordBatch, Schema, Struct, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { table } from '@emflow/sdk';
import { pythonJson } from '../../../test/helpers.js';
import { sortedRows, takeRows, viewRows } from '../src/rows.js';
import { TableView } from '../src/index.js';

interface Reference {
  rows: number;
  columns: { score: (number | null)[]; score_nan: boolean[]; count: string[]; name: (string | null)[] };
  orders: Record<'score' | 'count' | 'name', { ascending: number[]; descending: number[] }>;
}
const reference = pythonJson<Reference>(fileURLToPath(new URL('./fixtures/sort_reference.py', import.meta.url)));

// The table NumPy described, with a row id to follow the rows; score has both nulls and NaN (NaN is not JSON).
const { columns } = reference;
const data = new Table({
  id: vectorFromArray(
    Array.from({ length: reference.rows }, (_, i) => i),
    new Int32(),
  ),
  score: vectorFromArray(
    columns.score.map((v, i) => (columns.score_nan[i] ? NaN : v)),
    new Float64(),
  ),
  count: vectorFromArray(columns.count.map(BigInt), new Int64()),
  name: vectorFromArray(columns.name, new Utf8()),
});

const ids = (result: Table) => Array.from(result.getChild('id')!.toArray() as Int32Array);
const view = (input: Table, params: { sortBy?: string; descending?: boolean; limit?: number }) =>
  new TableView().process({ table: table(input) }, { descending: false, limit: 1000, ...params }).table.table;

describe('table-view sorting against numpy.argsort(kind="stable")', () => {
  it('has the reference table: ties, NaN and nulls, int64 beyond 2^53', () => {
    expect(reference.rows).toBe(300);
    expect(columns.score.filter((v) => v === null).length - columns.score_nan.filter(Boolean).length).toBe(15);
    expect(new Set(columns.count).size).toBeLessThan(41);
    expect(BigInt(columns.count[0])).toBeGreaterThan(2n ** 60n - 1n);
  });

  for (const column of ['score', 'count', 'name'] as const) {
    for (const direction of ['ascending', 'descending'] as const) {
      it(`by ${column}, ${direction}: stable, missing values last`, () => {
        const expected = reference.orders[column][direction];
        expect(ids(view(data, { sortBy: column, descending: direction === 'descending', limit: 100_000 }))).toEqual(expected);
        expect(ids(view(data, { sortBy: column, descending: direction === 'descending', limit: 17 }))).toEqual(expected.slice(0, 17));
      });
    }
  }

  it('keeps every value of the rows it moves (int64 exactly)', () => {
    const sorted = view(data, { sortBy: 'count', descending: true });
    const order = reference.orders.count.descending;
    expect(sorted.numRows).toBe(300);
    expect(Array.from(sorted.getChild('count')!.toArray() as BigInt64Array, String)).toEqual(order.map((i) => columns.count[i]));
    expect([...sorted.getChild('name')!]).toEqual(order.map((i) => columns.name[i]));
    const scores = [...sorted.getChild('score')!] as (number | null)[];
    expect(scores).toEqual(order.map((i) => (columns.score_nan[i] ? NaN : columns.score[i])));
  });
});

describe('table-view', () => {
  it('passes a table through, the same object, when it fits the limit and nothing is sorted', () => {
    expect(view(data, {})).toBe(data);
    expect(view(data, { sortBy: '  ' })).toBe(data);
  });

  it('keeps the first limit rows in table order without sortBy', () => {
    expect(ids(view(data, { limit: 5 }))).toEqual([0, 1, 2, 3, 4]);
    expect(ids(view(data, { limit: 1 }))).toEqual([0]);
  });

  it('names an unknown sortBy column and lists the columns', () => {
    expect(() => view(data, { sortBy: 'Score' })).toThrow("table-view: sortBy names the column 'Score', which the table does not have (its columns: id, score, count, name)");
  });

  it('refuses a limit outside 1 … 100000', () => {
    expect(() => viewRows(data, { descending: false, limit: 0 })).toThrow('table-view: limit (0) must be an integer from 1 to 100000');
    expect(() => viewRows(data, { descending: false, limit: 2.5 })).toThrow('limit (2.5) must be an integer');
  });

  it('keeps the schema: types, nullability, field and table metadata', () => {
    const fields = [
      new Field('k', new Float64(), false, new Map([['unit', 'px']])),
      new Field('tags', new List(new Field('item', new Utf8(), true)), true),
    ];
    const schema = new Schema(fields, new Map([['origin', 'peak-find']]));
    const children = [vectorFromArray([2, 1, 3], new Float64()).data[0], vectorFromArray([['b'], null, ['a', 'c']], fields[1].type).data[0]];
    const withMeta = new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: 3, nullCount: 0, children }))]);
    const sorted = takeRows(withMeta, sortedRows(withMeta.getChild('k')!, false));
    expect(sorted.schema.metadata.get('origin')).toBe('peak-find');
    expect(sorted.schema.fields.map((f) => [f.name, String(f.type), f.nullable, Object.fromEntries(f.metadata)])).toEqual([
      ['k', 'Float64', false, { unit: 'px' }],
      ['tags', 'List<Utf8>', true, {}],
    ]);
    expect(sorted.toArray().map((row) => ({ k: row.k as number, tags: row.tags === null ? null : [...(row.tags as Iterable<string>)] }))).toEqual([
      { k: 1, tags: null },
      { k: 2, tags: ['b'] },
      { k: 3, tags: ['a', 'c'] },
    ]);
  });

  it('sorts an empty table', () => {
    expect(view(data.slice(0, 0), { sortBy: 'score' }).numRows).toBe(0);
  });
});
