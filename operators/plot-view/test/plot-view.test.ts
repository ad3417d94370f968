import { describe, expect, it } from 'vitest';
import { Field, Float64, Int32, Int64, makeVector, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { NDArray, table, type TableFrame } from '@emflow/sdk';
import { plotTable, seriesFromSpectrum, seriesFromTable } from '../src/plot.js';
import { PlotView, type PlotViewParams } from '../src/index.js';

const defaults: PlotViewParams = { xOffset: 0, xScale: 1, logY: false };
const plot = (inputs: { table?: TableFrame; spectrum?: NDArray }, params: Partial<PlotViewParams> = {}) =>
  new PlotView().process(inputs, { ...defaults, ...params }).plot;

/** Columns of a table as plain number arrays (NaN kept), with their Arrow types. */
function columnsOf(result: Table) {
  return result.schema.fields.map((field, i) => ({ name: field.name, type: String(field.type), values: Array.from(result.getChildAt(i)!.toArray() as Float64Array) }));
}

// A histogram as the histogram operator makes it (64 bins over [0, 8)), counted here from known values, plus a
// text column, an int64 column and a column with nulls.
const values = Array.from({ length: 1000 }, (_, i) => (((i * 7919) % 1000) / 1000) * 8);
const edges = Array.from({ length: 65 }, (_, k) => k / 8);
const counts = new Array<number>(64).fill(0);
for (const v of values) counts[Math.min(63, Math.floor(v * 8))]++;
const histogram = new Table({
  bin_start: makeVector(Float64Array.from(edges.slice(0, 64))),
  bin_end: makeVector(Float64Array.from(edges.slice(1))),
  count: makeVector(Float64Array.from(counts)),
  label: vectorFromArray(counts.map((_, k) => `bin ${k}`), new Utf8()),
  // beyond 2^53, even: exact in float64
  total: makeVector(BigInt64Array.from(counts, (c) => 2n ** 53n + BigInt(2 * c))),
  gaps: vectorFromArray(
    counts.map((c, k) => (k % 5 === 0 ? null : c)),
    new Int32(),
  ),
});

describe('plot-view from a table', () => {
  it('plots every numeric column but x against the first column by default, as float64', () => {
    const frame = plot({ table: table(histogram) });
    expect(columnsOf(frame.table)).toEqual([
      { name: 'bin_start', type: 'Float64', values: edges.slice(0, 64) },
      { name: 'bin_end', type: 'Float64', values: edges.slice(1) },
      { name: 'count', type: 'Float64', values: counts },
      { name: 'total', type: 'Float64', values: counts.map((c) => 2 ** 53 + 2 * c) },
      { name: 'gaps', type: 'Float64', values: counts.map((c, k) => (k % 5 === 0 ? NaN : c)) },
    ]);
    expect(counts.reduce((a, b) => a + b)).toBe(1000);
    expect(frame.meta).toEqual({ xLabel: 'bin_start', logY: false });
  });

  it('takes x and the comma-separated y columns it is given, in that order', () => {
    const frame = plot({ table: table(histogram) }, { x: 'bin_end', y: ' count , gaps,count', title: 'Intensity histogram', xLabel: 'intensity (e⁻/px)', logY: true });
    expect(columnsOf(frame.table)).toEqual([
      { name: 'bin_end', type: 'Float64', values: edges.slice(1) },
      { name: 'count', type: 'Float64', values: counts },
      { name: 'gaps', type: 'Float64', values: counts.map((c, k) => (k % 5 === 0 ? NaN : c)) },
    ]);
    expect(frame.meta).toEqual({ title: 'Intensity histogram', xLabel: 'intensity (e⁻/px)', logY: true });
  });

  it('treats empty strings (an editor form left blank) as unset', () => {
    const frame = plot({ table: table(histogram) }, { x: '', y: '  ', title: '', xLabel: '' });
    expect(frame.table.schema.fields.map((f) => f.name)).toEqual(['bin_start', 'bin_end', 'count', 'total', 'gaps']);
    expect(frame.meta).toEqual({ xLabel: 'bin_start', logY: false });
  });

  it('names unknown columns and lists the ones there are', () => {
    const columns = 'its columns: bin_start (Float64), bin_end (Float64), count (Float64), label (Utf8), total (Int64), gaps (Int32)';
    expect(() => plot({ table: table(histogram) }, { x: 'bins' })).toThrow(`plot-view: x names the column 'bins', which the table does not have (${columns})`);
    expect(() => plot({ table: table(histogram) }, { y: 'count,counts,n' })).toThrow(`plot-view: y names columns the table does not have: 'counts', 'n' (${columns})`);
    expect(() => plot({ table: table(histogram) }, { y: 'Count' })).toThrow("y names a column the table does not have: 'Count'");
  });

  it('refuses text columns as x or y, and x as a series', () => {
    expect(() => plot({ table: table(histogram) }, { x: 'label' })).toThrow("plot-view: the x column 'label' is Utf8, not numeric; set x to a numeric column");
    expect(() => plot({ table: table(histogram) }, { y: 'count,label' })).toThrow("plot-view: y names columns that are not numeric: 'label' (Utf8)");
    expect(() => plot({ table: table(histogram) }, { y: 'bin_start,count' })).toThrow("plot-view: y names the x column 'bin_start'");
    const textOnly = new Table({ x: makeVector(Float64Array.of(1, 2)), name: vectorFromArray(['a', 'b'], new Utf8()) });
    expect(() => plot({ table: table(textOnly) })).toThrow("plot-view: the table has no numeric column to plot against 'x'");
    expect(() => plot({ table: table(new Table()) })).toThrow('plot-view: the table has no columns to plot');
  });

  it('keeps column order for names that look like numbers, and plots an empty table', () => {
    const numbered = new Table({ b: makeVector(Float64Array.of(1, 2)), '2': makeVector(Float64Array.of(3, 4)), '1': makeVector(Float64Array.of(5, 6)) });
    // a JS object would put '1' and '2' first; the plot keeps the requested order
    expect(plot({ table: table(numbered) }, { x: 'b', y: '2,1' }).table.schema.fields.map((f) => f.name)).toEqual(['b', '2', '1']);
    const empty = seriesFromTable(histogram.slice(0, 0), { y: 'count' });
    expect(plotTable(empty).numRows).toBe(0);
  });
});

describe('plot-view from a spectrum', () => {
  const spectrum = new NDArray(Float32Array.of(0.5, 2.25, -1, NaN, 1e6, 3.3), [6], { source: 'eels' });

  it('plots the values against the index by default', () => {
    const frame = plot({ spectrum });
    expect(columnsOf(frame.table)).toEqual([
      { name: 'x', type: 'Float64', values: [0, 1, 2, 3, 4, 5] },
      { name: 'value', type: 'Float64', values: Array.from(Float32Array.of(0.5, 2.25, -1, NaN, 1e6, 3.3)) },
    ]);
    expect(frame.meta).toEqual({ xLabel: 'x', logY: false });
  });

  it('places x at xOffset + index·xScale, named xLabel', () => {
    const frame = plot({ spectrum }, { xOffset: 280.5, xScale: 0.25, xLabel: 'energy loss (eV)', title: 'EELS', logY: true });
    expect(columnsOf(frame.table)[0]).toEqual({ name: 'energy loss (eV)', type: 'Float64', values: [280.5, 280.75, 281, 281.25, 281.5, 281.75] });
    expect(frame.meta).toEqual({ title: 'EELS', xLabel: 'energy loss (eV)', logY: true });
    expect(seriesFromSpectrum([1, 2, 3], { xOffset: 10, xScale: -2 }).columns[0]).toEqual(Float64Array.of(10, 8, 6));
    expect(() => seriesFromSpectrum([1], { xOffset: 0, xScale: 1, xLabel: 'value' })).toThrow("plot-view: xLabel must not be 'value'");
  });

  it('reads float16 spectra as their values', () => {
    const half = new NDArray(Uint16Array.of(0x3c00, 0xc000), [2], {}, 'float16');
    expect(columnsOf(plot({ spectrum: half }).table)[1].values).toEqual([1, -2]);
  });

  it('refuses an array that is not 1-D', () => {
    expect(() => plot({ spectrum: new NDArray(Float32Array.of(1, 2, 3, 4), [2, 2]) })).toThrow(
      'plot-view: input "spectrum": expected spectrum (a 1-D array), got a 2-D array',
    );
  });
});

describe('plot-view inputs', () => {
  it('needs exactly one of table and spectrum', () => {
    expect(() => plot({})).toThrow('plot-view: neither input, table nor spectrum, has a frame; connect exactly one of them');
    expect(() => plot({ table: table(histogram), spectrum: new NDArray(Float32Array.of(1), [1]) })).toThrow(
      'plot-view: both inputs, table and spectrum, have a frame; connect exactly one of them',
    );
  });

  it('writes non-nullable float64 fields', () => {
    const result = plot({ table: table(histogram) }, { y: 'gaps' }).table;
    expect(result.schema.fields.map((f: Field) => [f.name, f.nullable, f.type instanceof Float64])).toEqual([
      ['bin_start', false, true],
      ['gaps', false, true],
    ]);
    expect(result.schema.fields.some((f) => f.type instanceof Int64)).toBe(false);
  });
});
