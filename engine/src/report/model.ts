// What the HTML report shows, computed from the run record and the per-frame values of a run: pure.
// A JSON output whose frames hold numbers (stats: mean, std, min, max, sum) becomes one plot per number, against
// the frame index; a table output becomes plots of its numeric columns (one frame: against its first column when
// that rises, else the row; a stream of tables: rows and column means per frame).
import type { RunRecord } from '../provenance/record.js';

export type FrameValue =
  | { node: string; port: string; index: number; kind: 'json'; value: unknown }
  | { node: string; port: string; index: number; kind: 'table'; rows: number; columns: Record<string, (number | null)[]> };

export interface Plot {
  id: string;
  /** the output it comes from, "node.port" */
  source: string;
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  y: (number | null)[];
}

export interface ReportModel {
  title: string;
  /** ISO time the report was made */
  generated: string;
  record?: RunRecord;
  plots: Plot[];
  notes: string[];
}

/** Plots at most; a run with more numeric outputs says what was left out. */
export const MAX_PLOTS = 240;
const MAX_DEPTH = 3;

/** The finite numbers in a JSON value, by dotted path ("mean", "shift.dx"); a bare number is "value". */
export function numbersIn(value: unknown, prefix = '', depth = 0): [string, number][] {
  if (typeof value === 'number') return Number.isFinite(value) ? [[prefix || 'value', value]] : [];
  if (typeof value === 'boolean') return [];
  if (!value || typeof value !== 'object' || Array.isArray(value) || depth >= MAX_DEPTH) return [];
  return Object.entries(value).flatMap(([key, v]) => numbersIn(v, prefix ? `${prefix}.${key}` : key, depth + 1));
}

function groups<T extends FrameValue>(values: readonly T[]): Map<string, T[]> {
  const by = new Map<string, Map<number, T>>();
  for (const value of values) {
    const key = `${value.node}.${value.port}`;
    if (!by.has(key)) by.set(key, new Map());
    by.get(key)!.set(value.index, value); // a frame seen twice (a restarted pass): the later one
  }
  return new Map([...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, frames]) => [key, [...frames.values()].sort((a, b) => a.index - b.index)]));
}

const mean = (values: readonly (number | null)[]): number | null => {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  return n ? sum / n : null;
};

/** A table frame reduced to its row count and one mean per column (what a stream of tables is plotted from). */
export function summarized(value: Extract<FrameValue, { kind: 'table' }>): Extract<FrameValue, { kind: 'table' }> {
  return { ...value, columns: Object.fromEntries(Object.entries(value.columns).map(([name, values]) => [name, [mean(values)]])) };
}

/**
 * Keeps what the report needs of a growing set of frames: JSON values, the first table of each output in full and
 * the later ones summarized (a stream of large tables would otherwise be held whole).
 */
export class FrameValues {
  private readonly values = new Map<string, FrameValue>();
  private readonly detailed = new Set<string>();

  add(value: FrameValue): void {
    const source = `${value.node}.${value.port}`;
    const key = `${source}.${value.index}`;
    if (value.kind === 'table' && this.detailed.has(source) && !this.values.has(key)) value = summarized(value);
    else if (value.kind === 'table') this.detailed.add(source);
    this.values.set(key, value);
  }

  list(): FrameValue[] {
    return [...this.values.values()];
  }
}

const rises = (values: readonly (number | null)[]) => values.length > 1 && values.every((v, i) => v !== null && (i === 0 || v >= values[i - 1]!));

function jsonPlots(source: string, frames: readonly Extract<FrameValue, { kind: 'json' }>[]): Plot[] {
  const x = frames.map((f) => f.index);
  const perFrame = frames.map((f) => new Map(numbersIn(f.value)));
  const names = [...new Set(perFrame.flatMap((m) => [...m.keys()]))];
  return names.map((name) => ({ id: '', source, title: `${source} · ${name}`, xLabel: 'frame', yLabel: name, x, y: perFrame.map((m) => m.get(name) ?? null) }));
}

function tablePlots(source: string, frames: readonly Extract<FrameValue, { kind: 'table' }>[]): Plot[] {
  if (frames.length === 1) {
    const [{ columns, rows, index }] = frames;
    const names = Object.keys(columns);
    const [first] = names;
    const byFirst = names.length > 1 && rises(columns[first]);
    const x = byFirst ? (columns[first] as number[]) : Array.from({ length: Math.min(rows, columns[first]?.length ?? 0) }, (_, i) => i);
    const xLabel = byFirst ? first : 'row';
    return names.filter((n) => !byFirst || n !== first).map((name) => ({ id: '', source, title: `${source} · ${name} (frame ${index})`, xLabel, yLabel: name, x, y: columns[name] }));
  }
  const x = frames.map((f) => f.index);
  const names = [...new Set(frames.flatMap((f) => Object.keys(f.columns)))];
  return [
    { id: '', source, title: `${source} · rows`, xLabel: 'frame', yLabel: 'rows', x, y: frames.map((f) => f.rows) },
    ...names.map((name) => ({ id: '', source, title: `${source} · mean ${name}`, xLabel: 'frame', yLabel: `mean ${name}`, x, y: frames.map((f) => (f.columns[name] ? mean(f.columns[name]) : null)) })),
  ];
}

/** Every plot the values make, in output order, numbered. */
export function reportPlots(values: readonly FrameValue[]): { plots: Plot[]; notes: string[] } {
  const plots: Plot[] = [];
  const tables = groups(values.filter((v): v is Extract<FrameValue, { kind: 'table' }> => v.kind === 'table'));
  const json = groups(values.filter((v): v is Extract<FrameValue, { kind: 'json' }> => v.kind === 'json'));
  for (const [source, frames] of json) plots.push(...jsonPlots(source, frames));
  for (const [source, frames] of tables) plots.push(...tablePlots(source, frames));
  const kept = plots.filter((p) => p.y.some((v) => v !== null)).map((p, i) => ({ ...p, id: `p${i}` }));
  const notes = kept.length > MAX_PLOTS ? [`${kept.length - MAX_PLOTS} more plots left out (the report shows ${MAX_PLOTS})`] : [];
  return { plots: kept.slice(0, MAX_PLOTS), notes };
}

export function reportModel(input: { record?: RunRecord; values: readonly FrameValue[]; generated: string; notes?: string[] }): ReportModel {
  const { plots, notes } = reportPlots(input.values);
  const name = input.record?.pipeline.name ?? input.record?.pipeline.file;
  return {
    title: `emflow run${name ? `: ${name}` : ''}`,
    generated: input.generated,
    ...(input.record ? { record: input.record } : {}),
    plots,
    notes: [...(input.notes ?? []), ...notes],
  };
}
