// Hostile and careless pipeline documents (test/fixtures/hostile/, plus two generated here because they are too
// big to commit) through the CLI as a user runs it: `emflow validate FILE...` and `emflow run FILE`. Each must
// end in bounded time with the right exit status (1 invalid, 2 unreadable), messages one line each that name
// the place (a JSON pointer, or the file with line and column), no stack trace, and nothing left behind: no
// shared-memory folder, no operator process. `validate` takes every file in one invocation (what it says of
// each file is the status a single-file invocation exits with): a CLI start costs most of a CPU second.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSession, validatePipeline, ValidationError } from '@emflow/engine';
import { root } from './helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');
const fixtures = join(root, 'test/fixtures/hostile');
const scratch = mkdtempSync(join(tmpdir(), 'emflow-hostile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Longest a single invocation may take, even on a loaded machine. */
const BOUND_MS = 20_000;

interface Case {
  file: string;
  /** where it is, when not among the fixtures */
  path?: string;
  validate: 0 | 1 | 2;
  run: 0 | 1 | 2;
  /** what the output must name: a pointer, or a place in the file */
  place?: string;
  /** more checks of `run --json` */
  report?: (report: { nodes: Record<string, unknown> }) => void;
}

const cases: Case[] = [
  { file: 'proto-ports.json', validate: 1, run: 1, place: '/edges/1/to/port: node "scale" (scale) has no input port "__proto__"' },
  {
    file: 'proto-node-ids.json',
    validate: 0,
    run: 0,
    place: '__proto__',
    report: (report) => expect(Object.keys(report.nodes).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']),
  },
  { file: 'proto-params.json', validate: 1, run: 1, place: '/nodes/0/params/__proto__: unknown param "__proto__"' },
  { file: 'deep-nesting.json', validate: 2, run: 2, place: 'nested deeper than 64 levels at line 1, column 149' },
  { file: 'deep-unterminated.json', validate: 2, run: 2, place: 'nested deeper than 64 levels at line 1, column 321' },
  { file: 'number-out-of-range.json', validate: 2, run: 2, place: '/nodes/0/params/width (line 3, column 74): number 1e400 is out of range' },
  { file: 'unknown-operator.json', validate: 1, run: 1, place: '/nodes/1/operator: unknown operator "rm -rf /"' },
  { file: 'cycle.json', validate: 1, run: 1, place: '/edges/1: the graph has a cycle through nodes "a", "b", "m"' },
  { file: 'not-json.json', validate: 2, run: 2, place: 'not valid JSON at line 1, column 1' },
  { file: 'binary.json', validate: 2, run: 2, place: 'not valid JSON at line 1, column 2' },
  { file: 'bom.json', validate: 0, run: 0 },
  { file: 'duplicate-keys.json', validate: 2, run: 2, place: '/nodes/0/params/width (line 3, column 77): key "width" appears twice' },
  { file: 'empty.json', validate: 2, run: 2, place: 'empty' },
  { file: 'long-names.json', validate: 1, run: 1, place: '/edges/1/from/node: unknown node "no\\nsuch\\nppp' },
  { file: 'field-names.json', validate: 1, run: 1, place: '/field\\u000awith a line break ppp' },
  { file: 'not-an-object.json', validate: 1, run: 1, place: '/: expected object, got [1,2,3]' },
  { file: 'wrong-shapes.json', validate: 1, run: 1, place: '/edges: expected array, got "src -> stats"' },
  { file: 'huge-values.json', validate: 1, run: 1, place: '/nodes/0/params/width: expected a value <= 16384, got 1e+300' },
  { file: 'operators-missing.json', validate: 1, run: 1, place: '/operators/0: no such folder "/nonexistent-emflow-operators"' },
  // the CLI lets a pipeline read any file its user can (like a shell script): the reader then says what it found
  { file: 'path-outside.json', validate: 0, run: 1, place: 'node "read" (mrc-reader)' },
];

// too big to commit: a 10 MB operator name, and 10,000 nodes behind a 2-node cycle
{
  const huge = JSON.parse(readFileSync(join(fixtures, 'unknown-operator.json'), 'utf8'));
  huge.nodes[1].operator = 'x'.repeat(10 << 20);
  huge.nodes[1].label = 'y'.repeat(10 << 20);
  writeFileSync(join(scratch, 'huge-string.json'), JSON.stringify(huge));
  cases.push({ file: 'huge-string.json (generated)', path: join(scratch, 'huge-string.json'), validate: 1, run: 1, place: '/nodes/1/operator: unknown operator "xxxxxxxx' });
  const ids = Array.from({ length: 10_000 }, (_, i) => `n${i}`);
  const link = (from: string, to: string) => ({ from: { node: from, port: 'image' }, to: { node: to, port: 'image' } });
  const many = { emflow: 1, nodes: ids.map((id) => ({ id, operator: 'scale' })), edges: [link('n1', 'n0'), ...ids.slice(1).map((id, i) => link(ids[i], id))] };
  writeFileSync(join(scratch, 'many-nodes.json'), JSON.stringify(many));
  cases.push({ file: 'many-nodes.json (generated)', path: join(scratch, 'many-nodes.json'), validate: 1, run: 1, place: '/edges/0: the graph has a cycle through nodes "n0", "n1"\n' });
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function emflow(args: string[], shm: string): Promise<Outcome> {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { cwd: fixtures, timeout: BOUND_MS, env: { ...process.env, EMFLOW_SHM_DIR: shm, EMFLOW_OPERATORS_PATH: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - started })));
}

/** Live processes started for a session under `shm` (operators carry EMFLOW_SESSION_DIR in their environment). */
function operatorsUnder(shm: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`EMFLOW_SESSION_DIR=${shm}/`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}

const problemCount = /^.+: \d+ problems?$/;

const pathOf = (kase: Case) => kase.path ?? join(fixtures, kase.file);

/** What every outcome must look like, whatever the document: in time, no stack trace, no line of a novel's length. */
function expectBounded(outcome: Outcome, what: string): void {
  expect(outcome.signal, what).toBeNull();
  expect(outcome.ms, what).toBeLessThan(BOUND_MS);
  const output = outcome.stdout + outcome.stderr;
  expect(output, what).not.toMatch(/^\s+at /m);
  for (const line of output.split('\n')) expect(line.length, what).toBeLessThan(400);
}

/** Problem lines: each starts with its JSON pointer. */
const expectPointerLines = (lines: string[], what: string) => lines.forEach((line) => expect(line, what).toMatch(/^\/.*: /));

describe('emflow validate FILE... on every hostile document', () => {
  it('says of each file, in order, what its exit status is and where the problems are', async () => {
    const shm = mkdtempSync(join(scratch, 'shm-'));
    const outcome = await emflow(['validate', ...cases.map(pathOf)], shm);
    expectBounded(outcome, outcome.stderr.slice(0, 500));
    expect(outcome.code).toBe(2);
    const err = outcome.stderr.trimEnd().split('\n');
    const out = outcome.stdout === '' ? [] : outcome.stdout.trimEnd().split('\n');
    expect(err).toHaveLength(cases.length);
    cases.forEach((kase, i) => {
      const file = pathOf(kase);
      const what = `validate ${kase.file}: ${err[i]}`;
      if (kase.validate === 2) {
        expect(err[i], what).toMatch(new RegExp(`^emflow: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
        if (kase.place) expect(err[i], what).toContain(kase.place);
        return;
      }
      if (kase.validate === 0) {
        expect(err[i], what).toBe(`${file}: valid`);
        return;
      }
      const count = Number(/: (\d+) problems?$/.exec(err[i])?.[1]);
      expect(err[i], what).toBe(`${file}: ${count} problem${count > 1 ? 's' : ''}`);
      const lines = out.splice(0, count);
      expectPointerLines(lines, what);
      if (kase.place) expect(lines.join('\n') + '\n', what).toContain(kase.place);
    });
    expect(out).toEqual([]);
  });
});

/** What `run` must say: exit status, one line for an unreadable file or a failed run, one line per problem. */
function expectRun(outcome: Outcome, kase: Case): void {
  const what = `run ${kase.file}: ${outcome.stderr.slice(0, 500)}`;
  expectBounded(outcome, what);
  expect(outcome.code, what).toBe(kase.run);
  const err = outcome.stderr.trimEnd().split('\n');
  if (kase.run === 2 || err[0].startsWith('emflow: run failed: ')) {
    expect(err, what).toHaveLength(1);
    expect(err[0], what).toMatch(/^emflow: .+: /);
  } else if (kase.run === 1) {
    expect(err[0], what).toMatch(problemCount);
    expectPointerLines(err.slice(1), what);
  }
  if (kase.place) expect(outcome.stdout + outcome.stderr + '\n', what).toContain(kase.place);
}

describe.concurrent('emflow run FILE on every hostile document', () => {
  it.each(cases)('$file: exits $run, nothing left behind', async (kase) => {
    const shm = mkdtempSync(join(scratch, 'shm-'));
    const file = pathOf(kase);
    expectRun(await emflow(['run', file, '--timeout', '10000'], shm), kase);
    if (kase.report) {
      const json = await emflow(['run', file, '--json'], shm);
      expect(json.code).toBe(0);
      kase.report(JSON.parse(json.stdout));
    }
    expect(operatorsUnder(shm)).toEqual([]);
    expect(readdirSync(shm)).toEqual([]);
  });
});

describe('hostile documents under path roots (the editor server)', () => {
  it('refuses a file param outside the roots, naming its pointer', async () => {
    const problems = await validatePipeline(join(fixtures, 'path-outside.json'), { roots: { read: [fixtures], write: [] } });
    expect(problems).toEqual([
      { pointer: '/nodes/0/params/path', message: expect.stringMatching(/^"\.\.\/\.\.\/.*passwd" is outside the allowed folders for reading \(it is "\/etc\/passwd"; allowed: /) },
    ]);
  });

  it('refuses operator folders named by a document', async () => {
    const problems = await validatePipeline(join(fixtures, 'operators-missing.json'), { roots: { read: [fixtures], write: [] } });
    expect(problems.map((p) => p.pointer)).toEqual(['/operators']);
  });
});

describe('a session opened for someone else (the editor server) keeps file params inside its roots', () => {
  it('refuses a document reading outside the roots, and a param changed to point outside, naming the param', async () => {
    const data = mkdtempSync(join(scratch, 'data-'));
    const output = mkdtempSync(join(scratch, 'out-'));
    writeFileSync(join(data, 'm.mrc'), readFileSync(join(root, 'data/EMD-3001.map')));
    const roots = { read: [data], write: [output] };
    const document = (path: string) => ({
      emflow: 1,
      nodes: [
        { id: 'read', operator: 'mrc-reader', params: { path } },
        { id: 'stats', operator: 'stats' },
      ],
      edges: [{ from: { node: 'read', port: 'volume' }, to: { node: 'stats', port: 'image' } }],
    });
    const outside = await openSession({ pipeline: document('/etc/passwd'), roots }).catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(ValidationError);
    expect((outside as Error).message).toMatch(/\/nodes\/0\/params\/path: .*outside/);
    const session = await openSession({ pipeline: document(join(data, 'm.mrc')), roots });
    try {
      expect(() => session.setParams('read', { path: join(data, '..', '..', 'etc', 'passwd') })).toThrow(/\/nodes\/0\/params\/path: .*outside/);
      expect(session.params('read').path).toBe(join(data, 'm.mrc'));
      expect((await session.run()).nodes.stats.frames).toBe(1);
    } finally {
      await session.close();
    }
  });
});
