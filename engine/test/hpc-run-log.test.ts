// A job's log as emflow run --json --progress plain writes it: plain progress lines (one per node state change),
// read back for the operator names, and the last JSON line as the run's table.
import { describe, expect, it } from 'vitest';
import { plainProgress } from '../src/cli/progress.js';
import { lastReport, nodeStatesFromLog, operatorsFromLog, reportTable, withoutReport } from '../src/hpc/run-log.js';

describe('plain progress', () => {
  it('prints one line per state change of a node, with frames and time at the end', () => {
    const lines: string[] = [];
    const progress = plainProgress(
      [
        { id: 'src', operator: 'synthetic' },
        { id: 'blur', operator: 'gaussian-blur' },
      ],
      (line) => lines.push(line),
    );
    progress.update('src', 'waiting', 0);
    progress.update('blur', 'waiting', 0);
    progress.update('src', 'running', 0);
    progress.update('src', 'running', 1);
    progress.update('src', 'running', 2);
    progress.update('blur', 'running', 0);
    progress.update('src', 'done', 4);
    progress.update('blur', 'failed', 1);
    progress.stop();
    progress.update('blur', 'cancelled', 1);
    expect(lines.map((l) => l.replace(/ \d+\.\d ms\n$/, ' T ms\n'))).toEqual([
      'emflow: node src (synthetic) waiting\n',
      'emflow: node blur (gaussian-blur) waiting\n',
      'emflow: node src (synthetic) running\n',
      'emflow: node blur (gaussian-blur) running\n',
      'emflow: node src (synthetic) done 4 frames T ms\n',
      'emflow: node blur (gaussian-blur) failed 1 frame T ms\n',
    ]);
  });
});

const log = [
  'emflow: node src (synthetic) waiting',
  'emflow: node src (synthetic) running',
  'emflow: node blur (gaussian-blur) running',
  '{"looks": "like JSON but is an operator\'s"}',
  'emflow: node src (synthetic) done 4 frames 12.3 ms',
  'emflow: node blur (gaussian-blur) done 4 frames 20.1 ms',
  JSON.stringify({ ok: true, pipeline: '/p.json', runtime: 'process', run: 1, wallMs: 812.4, nodes: { src: { frames: 4, ms: 10.25, medianMs: 2 }, blur: { frames: 4, ms: 19, medianMs: 5 } }, notes: [], outputs: ['a', 'b'] }),
  '',
].join('\n');

describe('the run in a job log', () => {
  it('finds the report, the operators and the last states', () => {
    expect(lastReport(log)?.report.wallMs).toBe(812.4);
    expect(lastReport(log)?.line).toBe(6);
    expect(lastReport('no report\n{"x":1}\n{broken')).toBeUndefined();
    expect([...operatorsFromLog(log)]).toEqual([
      ['src', 'synthetic'],
      ['blur', 'gaussian-blur'],
    ]);
    expect(nodeStatesFromLog(log).get('blur')).toBe('done');
    expect(withoutReport(log)).not.toContain('"ok":true');
    expect(withoutReport(log)).toContain('like JSON');
  });

  it("summarises it as emflow run's table", () => {
    expect(reportTable(lastReport(log)!.report, operatorsFromLog(log))).toBe(
      ['node  operator       frames  time', 'src   synthetic           4  10.3 ms', 'blur  gaussian-blur       4  19.0 ms', 'run 1 finished in 812 ms, 2 output files written'].join('\n'),
    );
    expect(reportTable({ ok: false, error: { message: 'node "blur" (gaussian-blur) failed on frame 2: boom', node: 'blur' } }, new Map())).toBe('run failed: node "blur" (gaussian-blur) failed on frame 2: boom');
  });
});
