import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../src/bench/bench.js';
import { appendHistory, compareFigures, figuresOf, historyEntry, readEarlier } from '../src/bench/history.js';

const dir = mkdtempSync(join(tmpdir(), 'emflow-bench-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A report with the figures history reads (what runBench returns; the rest is not looked at). */
function report(handoffRatio: number, roundTripUs: number, chainRatio: number, python?: number): BenchReport {
  return {
    machine: { cpus: 2, node: 'v20.20.2' },
    handoff: { ratioToMemcpy: handoffRatio, ratioToFilePassing: handoffRatio / 10 },
    roundTrip: { medianUs: roundTripUs },
    chain: { ratio: chainRatio },
    streaming: { ratio: 3.9 },
    python: python === undefined ? { skipped: 'no numpy' } : { pythonRatio: python, mixedRatio: python },
  } as unknown as BenchReport;
}

describe('bench history', () => {
  it('keeps the ratios of a run, skipping Python where it did not run', () => {
    expect(figuresOf(report(0.5, 150, 1.2)).map((f) => f.name)).toEqual([
      'hand-off / memcpy',
      'hand-off / file passing',
      'tiny round trip (µs)',
      'chain pipelined / single process',
      'streaming: 4 replicas / 1',
    ]);
    expect(figuresOf(report(0.5, 150, 1.2, 0.8)).length).toBe(7);
  });

  it('keeps the figures of this version: hand-off growth, round-trip p99, balanced chain, cold starts, container round trips', () => {
    const full = {
      ...report(0.3, 96, 1.8, 1.1),
      handoff: { ratioToMemcpy: 0.3, ratioToFilePassing: 0.05, growth: { ratio: 1.5 } },
      roundTrip: { medianUs: 96, p99Us: 1000 },
      chain: { ratio: 1.8, balanced: { ratio: 1.7 } },
      coldStart: { ratio: 0.66 },
      docker: { coldStart: { ratio: 0.4 }, handoff: { ratio: 1.1 }, roundTrip: { medianUs: 120 } },
    } as unknown as BenchReport;
    const figures = Object.fromEntries(figuresOf(full).map((f) => [f.name, f.value]));
    expect(figures).toMatchObject({
      'hand-off largest / smallest frame': 1.5,
      'tiny round trip p99 (µs)': 1000,
      'balanced chain pipelined / single process': 1.7,
      'process cold start parallel / sequential': 0.66,
      'docker cold start parallel / sequential': 0.4,
      'docker hand-off / process hand-off': 1.1,
      'docker tiny round trip (µs)': 120,
    });
  });

  it('flags a figure that got worse beyond the tolerance, whichever way is better for it', () => {
    const before = historyEntry(report(0.5, 150, 1.2), 'abc').figures;
    const rows = compareFigures(figuresOf(report(0.6, 140, 1.0)), before);
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName['hand-off / memcpy']).toMatchObject({ before: 0.5, now: 0.6, regression: true }); // 1.2× slower
    expect(byName['tiny round trip (µs)'].regression).toBe(false); // faster
    expect(byName['chain pipelined / single process']).toMatchObject({ regression: true }); // 0.83× the speed-up
    expect(byName['streaming: 4 replicas / 1'].change).toBe(1);
  });

  it('appends one line per run with machine and commit, and compares with the last line or a saved report', () => {
    const file = join(dir, 'bench-history.jsonl');
    appendHistory(file, historyEntry(report(0.5, 150, 1.2), '1111111111', new Date('2026-11-01T00:00:00Z')));
    appendHistory(file, historyEntry(report(0.4, 120, 1.3), '2222222222', new Date('2026-11-02T00:00:00Z')));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { commit: string; machine: { cpus: number } });
    expect(lines.map((l) => [l.commit, l.machine.cpus])).toEqual([['1111111111', 2], ['2222222222', 2]]);
    expect(readEarlier(file)).toMatchObject({ label: '2026-11-02T00:00:00.000Z (2222222222)', figures: { 'hand-off / memcpy': 0.4 } });
    const saved = join(dir, 'report.json');
    writeFileSync(saved, JSON.stringify(report(0.7, 200, 1.1), null, 2));
    expect(readEarlier(saved).figures['tiny round trip (µs)']).toBe(200);
    const junk = join(dir, 'junk.txt');
    writeFileSync(junk, 'not json');
    expect(() => readEarlier(junk)).toThrow(`${junk} is neither a bench history (JSON lines) nor a report of emflow bench --json`);
  });
});
