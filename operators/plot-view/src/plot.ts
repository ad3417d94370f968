/**
 * The series a 1-D plot draws: an x column and one float64 column per series, all the same length, taken from
 * a table (named columns) or from a spectrum (x from the element index). Nulls become NaN (a gap in the line);
 * integers, int64 included, become the nearest float64.
 */
import { DataType, Field, Float64, makeData, RecordBatch, Schema, Struct, Table, type Vector } from 'apache-arrow';

export interface PlotSeries {
  /** the x column's name, then every series' name, in output order */
  names: string[];
  /** x first, then one array per series */
  columns: Float64Array[];
}

export interface TableSelection {
  /** the x column; default the first column */
  x?: string;
  /** comma-separated series columns; default every numeric column but x */
  y?: string;
}

export interface SpectrumAxis {
  /** x of element 0, in x-axis units */
  xOffset: number;
  /** x step from one element to the next, in x-axis units */
  xScale: number;
  /** the x column's name; default "x" */
  xLabel?: string;
}

/** Integer and floating-point columns can be plotted. */
export function isNumeric(type: DataType): boolean {
  return DataType.isInt(type) || DataType.isFloat(type);
}

/** A string param left empty (as an editor form sends it) means "not set". */
export function given(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

export function seriesFromTable(table: Table, { x, y }: TableSelection): PlotSeries {
  const fields = table.schema.fields;
  const listing = () => (fields.length ? fields.map((f) => `${f.name} (${f.type})`).join(', ') : 'none');
  if (fields.length === 0) throw new Error('plot-view: the table has no columns to plot');
  const index = new Map<string, number>();
  fields.forEach((f, i) => {
    if (!index.has(f.name)) index.set(f.name, i);
  });

  const xName = given(x) ?? fields[0].name;
  const xIndex = index.get(xName);
  if (xIndex === undefined) throw new Error(`plot-view: x names the column '${xName}', which the table does not have (its columns: ${listing()})`);
  if (!isNumeric(fields[xIndex].type)) {
    throw new Error(`plot-view: the x column '${xName}' is ${fields[xIndex].type}, not numeric; set x to a numeric column (the table's columns: ${listing()})`);
  }

  let yNames: string[];
  const yParam = given(y);
  if (yParam !== undefined) {
    yNames = [...new Set(yParam.split(',').map((name) => name.trim()).filter((name) => name !== ''))];
    const unknown = yNames.filter((name) => !index.has(name));
    if (unknown.length) {
      const quoted = unknown.map((name) => `'${name}'`).join(', ');
      throw new Error(`plot-view: y names ${unknown.length > 1 ? 'columns' : 'a column'} the table does not have: ${quoted} (its columns: ${listing()})`);
    }
    if (yNames.includes(xName)) throw new Error(`plot-view: y names the x column '${xName}'; a series is plotted against x, not x itself`);
    const notNumeric = yNames.filter((name) => !isNumeric(fields[index.get(name)!].type));
    if (notNumeric.length) {
      const described = notNumeric.map((name) => `'${name}' (${fields[index.get(name)!].type})`).join(', ');
      throw new Error(`plot-view: y names columns that are not numeric: ${described}`);
    }
  } else {
    yNames = fields.filter((f, i) => i !== xIndex && index.get(f.name) === i && isNumeric(f.type)).map((f) => f.name);
    if (!yNames.length) throw new Error(`plot-view: the table has no numeric column to plot against '${xName}' (its columns: ${listing()})`);
  }

  const names = [xName, ...yNames];
  return { names, columns: names.map((name) => toFloat64(table.getChildAt(index.get(name)!)!)) };
}

export function seriesFromSpectrum(values: ArrayLike<number>, { xOffset, xScale, xLabel }: SpectrumAxis): PlotSeries {
  const xName = given(xLabel) ?? 'x';
  if (xName === 'value') throw new Error("plot-view: xLabel must not be 'value', the name of the spectrum's own column");
  const x = new Float64Array(values.length);
  for (let i = 0; i < x.length; i++) x[i] = xOffset + i * xScale;
  return { names: [xName, 'value'], columns: [x, Float64Array.from(values)] };
}

/** One non-nullable float64 column per name, in this order (column names may look like numbers: no object keys). */
export function plotTable({ names, columns }: PlotSeries): Table {
  const length = columns[0]?.length ?? 0;
  const fields = names.map((name) => new Field(name, new Float64(), false));
  const schema = new Schema(fields);
  const children = columns.map((data) => makeData({ type: new Float64(), length, nullCount: 0, data }));
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children }))]);
}

function toFloat64(vector: Vector): Float64Array {
  const out = new Float64Array(vector.length);
  let i = 0;
  for (const value of vector as Iterable<number | bigint | null>) out[i++] = value === null || value === undefined ? NaN : Number(value);
  return out;
}
