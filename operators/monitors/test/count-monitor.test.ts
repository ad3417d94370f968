// count-monitor: counts and throughput of array, table and JSON streams with a clock of our own, the throughput
// floor's log lines (once per change), warm state starting afresh at frame 0; in a session, the particles
// peak-find picks per micrograph and a floor no stream reaches, logged by the operator process.
import { tableFromArrays } from 'apache-arrow';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, localContext, NDArray, table, type JsonFrame, type TableFrame } from '@emflow/sdk';
import { pipeline } from '../../../test/helpers.js';
import { sessionOpener } from '../../../test/sessions.js';
import { COUNT_COLUMNS, CountMonitor, type CountMonitorParams, type CountRow } from '../src/index.js';

afterEach(() => void vi.restoreAllMocks());
const open = sessionOpener();

const defaults: CountMonitorParams = { window: 2, minFps: 0, every: 1, keep: 0 };
type Inputs = { array?: NDArray; table?: TableFrame; json?: JsonFrame };

/** One run: the rows a CountMonitor gives for these inputs arriving at these times (s). */
function countRun(monitor: CountMonitor, clock: { t: number[] }, frames: Inputs[], params: Partial<CountMonitorParams> = {}) {
  const ctx = localContext('count');
  return frames.map((inputs, frame) => {
    ctx.frame = frame;
    return monitor.process(inputs, { ...defaults, ...params }, ctx).row.table.get(0)!.toJSON() as CountRow;
  });
}

const array = (size: number) => ({ array: new NDArray(new Float32Array(size), [size]) });
const rowsOf = (n: number) => ({ table: table(tableFromArrays({ x: new Float64Array(n) })) });
const value = { json: json({ dy: 0.5 }) };

describe('count-monitor', () => {
  it('counts frames and their items, and measures fps over the window and on average', () => {
    const clock = { t: [10, 10.5, 11, 12, 14] };
    const monitor = new CountMonitor(() => clock.t.shift()!);
    const rows = countRun(monitor, clock, [array(12), rowsOf(3), value, rowsOf(0), array(5)]);
    expect(rows.map((r) => [r.frame, r.count, r.items, r.totalItems, r.alert])).toEqual([
      [0, 1, 12, 12, 0],
      [1, 2, 3, 15, 0],
      [2, 3, 1, 16, 0],
      [3, 4, 0, 16, 0],
      [4, 5, 5, 21, 0],
    ]);
    expect(rows.map((r) => [r.time, r.elapsed])).toEqual([10, 10.5, 11, 12, 14].map((t) => [t, t - 10]));
    // window 2: k / (t_i − t_{i−k}), k = min(2, i); meanFps = (count − 1) / elapsed
    expect(rows.map((r) => r.fps)).toEqual([NaN, 1 / 0.5, 2 / 1, 2 / 1.5, 2 / 3]);
    expect(rows.map((r) => r.meanFps)).toEqual([NaN, 1 / 0.5, 2 / 1, 3 / 2, 4 / 4]);
  });

  it('warns once when fps falls below minFps after a full window, and says once when it is back', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    // intervals 0.1 0.1 1 1 0.1 0.1 0.1 1: fps over 2 intervals 10, 10, 1.8, 1, 1.8, 10, 10, 1.8
    const times = [0, 0.1, 0.2, 1.2, 2.2, 2.3, 2.4, 2.5, 3.5];
    const clock = { t: [...times] };
    const rows = countRun(new CountMonitor(() => clock.t.shift()!), clock, times.map(() => value), { minFps: 5 });
    expect(rows.map((r) => r.alert)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 1]);
    expect(warn.mock.calls.map(([line]) => line)).toEqual([
      'count-monitor: throughput 1.82 frames/s over the last 2 frames (frame 3) is below minFps 5',
      'count-monitor: throughput 1.82 frames/s over the last 2 frames (frame 8) is below minFps 5',
    ]);
    expect(log.mock.calls.map(([line]) => line)).toEqual(['count-monitor: throughput 10.0 frames/s over the last 2 frames (frame 6) is back at minFps 5 or above']);
  });

  it('starts afresh at frame 0 of every run: counts, totals, throughput and the alert', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const clock = { t: [0, 1, 2, 3, 100, 100.1, 100.2] };
    const monitor = new CountMonitor(() => clock.t.shift()!);
    const first = countRun(monitor, clock, [array(4), array(4), array(4), array(4)], { window: 1, minFps: 2 });
    expect(first.map((r) => r.alert)).toEqual([0, 1, 1, 1]);
    const second = countRun(monitor, clock, [rowsOf(2), rowsOf(2), rowsOf(2)], { window: 1, minFps: 2 });
    expect(second.map((r) => [r.count, r.totalItems, r.elapsed, r.alert])).toEqual([
      [1, 2, 0, 0],
      [2, 4, expect.closeTo(0.1, 12), 0],
      [3, 6, expect.closeTo(0.2, 12), 0],
    ]);
    expect(second[0].fps).toBeNaN();
  });

  it('needs exactly one input', () => {
    const monitor = new CountMonitor();
    expect(() => monitor.process({}, defaults, localContext())).toThrow('count-monitor: connect exactly one of the inputs array, table and json (frames came on none)');
    expect(() => monitor.process({ ...array(1), ...value }, defaults, localContext())).toThrow('(frames came on array, json)');
  });

  it('counts the particles peak-find picks in a session and logs a floor no stream reaches', async () => {
    const session = await open(
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { pattern: 'gaussian-blobs', width: 96, height: 96, count: 4, seed: 9 } },
          { id: 'peaks', operator: 'peak-find', params: { threshold: 2 } },
          { id: 'count', operator: 'count-monitor', params: { window: 1, minFps: 1e12, every: 3 } },
        ],
        ['src.image->peaks.image', 'peaks.peaks->count.table'],
      ),
    );
    const logs: string[] = [];
    session.on('log', ({ node, stream, line }) => node === 'count' && logs.push(`${stream}: ${line}`));
    await session.run();
    const picked = (session.outputs('peaks', 'peaks') as TableFrame[]).map((f) => f.table.numRows);
    const rows = (session.outputs('count', 'row') as TableFrame[]).map((f) => f.table.get(0)!.toJSON() as CountRow);
    expect(rows.map((r) => r.items)).toEqual(picked);
    expect(rows.map((r) => r.totalItems)).toEqual(picked.map((_, k) => picked.slice(0, k + 1).reduce((a, b) => a + b, 0)));
    expect(picked.every((n) => n > 0)).toBe(true);
    expect(rows.map((r) => r.alert)).toEqual([0, 1, 1, 1]);
    expect(logs).toEqual([expect.stringMatching(/^stderr: count-monitor: throughput [0-9.e+]+ frames\/s over the last 1 frames \(frame 1\) is below minFps 1000000000000$/)]);
    // history on frames 0 and 3, with every column
    const history = session.outputs('count', 'history') as TableFrame[];
    expect(history.map((h) => h.table.numRows)).toEqual([1, 4]);
    expect(history[1].table.schema.fields.map((f) => f.name)).toEqual([...COUNT_COLUMNS]);
  });
});
