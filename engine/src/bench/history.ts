// Benchmark history: each `emflow bench --json` run appends one line (machine, commit, figures) to a JSONL file,
// and `--compare FILE` sets this run's figures beside an earlier one's, so a regression shows. Pure functions
// but for the file and git edges at the bottom.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { BenchReport } from './bench.js';

export interface Figure {
  name: string;
  value: number;
  /** which way is better */
  better: 'lower' | 'higher';
}

/** The figures worth comparing between runs: ratios against references measured in the same run, where there are any. */
export function figuresOf(report: BenchReport): Figure[] {
  const figures: Figure[] = [
    { name: 'hand-off / memcpy', value: report.handoff.ratioToMemcpy, better: 'lower' },
    { name: 'hand-off / file passing', value: report.handoff.ratioToFilePassing, better: 'lower' },
    { name: 'hand-off / raw relay', value: report.handoff.handoffMs / report.handoff.relayMs, better: 'lower' },
    { name: 'hand-off largest / smallest frame', value: report.handoff.growth?.ratio, better: 'lower' },
    { name: 'tiny round trip (µs)', value: report.roundTrip.medianUs, better: 'lower' },
    { name: 'tiny round trip p99 (µs)', value: report.roundTrip.p99Us, better: 'lower' },
    { name: 'tiny round trip / raw relay', value: report.roundTrip.medianUs / report.roundTrip.relayUs, better: 'lower' },
    { name: 'chain pipelined / single process', value: report.chain.ratio, better: 'higher' },
    { name: 'balanced chain pipelined / single process', value: report.chain.balanced?.ratio, better: 'higher' },
    { name: 'process cold start parallel / sequential', value: report.coldStart?.ratio, better: 'lower' },
    { name: 'process cold start floor (bare Node) parallel / sequential', value: report.coldStart?.floor?.ratio ?? NaN, better: 'lower' },
    { name: 'streaming: 4 replicas / 1', value: report.streaming.ratio, better: 'higher' },
  ];
  if (!('skipped' in report.python)) {
    figures.push({ name: 'Python→Python / TypeScript hand-off', value: report.python.pythonRatio, better: 'lower' });
    figures.push({ name: 'TypeScript→Python / TypeScript hand-off', value: report.python.mixedRatio, better: 'lower' });
  }
  for (const kind of ['docker', 'singularity'] as const) {
    const c = report[kind];
    if (!c) continue;
    figures.push({ name: `${kind} cold start parallel / sequential`, value: c.coldStart.ratio, better: 'lower' });
    figures.push({ name: `${kind} cold start floor (bare containers) parallel / sequential`, value: c.coldStart.floor?.ratio ?? NaN, better: 'lower' });
    figures.push({ name: `${kind} hand-off / process hand-off`, value: c.handoff.ratio, better: 'lower' });
    figures.push({ name: `${kind} tiny round trip (µs)`, value: c.roundTrip?.medianUs, better: 'lower' });
  }
  // reports of earlier versions lack some figures (a ratio of a missing one is NaN)
  return figures.filter((f) => Number.isFinite(f.value));
}

export interface HistoryEntry {
  at: string;
  machine: { host: string; cpus: number; node: string };
  commit?: string;
  figures: Record<string, number>;
  report: BenchReport;
}

export function historyEntry(report: BenchReport, commit: string | undefined, at = new Date()): HistoryEntry {
  return {
    at: at.toISOString(),
    machine: { host: hostname(), ...report.machine },
    ...(commit ? { commit } : {}),
    figures: Object.fromEntries(figuresOf(report).map((f) => [f.name, f.value])),
    report,
  };
}

export interface Comparison {
  name: string;
  before: number;
  now: number;
  /** now / before */
  change: number;
  /** worse by more than `tolerance` (relative) */
  regression: boolean;
}

/** This run's figures beside an earlier run's (figures present in both), flagging changes for the worse beyond `tolerance`. */
export function compareFigures(now: Figure[], before: Record<string, number>, tolerance = 0.1): Comparison[] {
  return now
    .filter((f) => typeof before[f.name] === 'number' && before[f.name] !== 0)
    .map((f) => {
      const change = f.value / before[f.name];
      const regression = f.better === 'lower' ? change > 1 + tolerance : change < 1 - tolerance;
      return { name: f.name, before: before[f.name], now: f.value, change, regression };
    });
}

/** The earlier run in FILE: the last line of a history file, or a report printed by `emflow bench --json`. */
export function readEarlier(file: string): { label: string; figures: Record<string, number> } {
  const text = readFileSync(file, 'utf8').trim();
  const parse = (json: string | undefined) => {
    try {
      return json === undefined ? undefined : (JSON.parse(json) as unknown);
    } catch {
      return undefined;
    }
  };
  // a saved report is one (pretty-printed) document; a history, one document per line
  const parsed = parse(text) ?? parse(text.split('\n').filter((l) => l.trim()).at(-1));
  if (parsed === undefined) throw new Error(`${file} is neither a bench history (JSON lines) nor a report of emflow bench --json`);
  const entry = parsed as Partial<HistoryEntry> & Partial<BenchReport>;
  if (entry.figures && typeof entry.figures === 'object') return { label: `${entry.at ?? '?'}${entry.commit ? ` (${entry.commit.slice(0, 10)})` : ''}`, figures: entry.figures };
  if (entry.handoff && entry.roundTrip) return { label: file, figures: Object.fromEntries(figuresOf(entry as BenchReport).map((f) => [f.name, f.value])) };
  throw new Error(`${file} holds no benchmark figures`);
}

/** The commit of the checkout emflow runs from, with "-dirty" when it has changes; undefined outside a git checkout. */
export function currentCommit(folder: string): string | undefined {
  try {
    const commit = execFileSync('git', ['-C', folder, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', folder, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return undefined;
  }
}

export function appendHistory(file: string, entry: HistoryEntry): void {
  appendFileSync(file, JSON.stringify(entry) + '\n');
}
