// Following an acquisition with the emflow command, in real processes: a Python writer drops MRC files into a
// folder at a set rate, some slowly in pieces, then a done marker; `emflow run` with a watching folder-source
// processes each file once, in order, never half-written (values checked against the complete files as NumPy reads
// them), and ends on the marker or the idle timeout. Resume: a run SIGKILLed half way and `emflow run --resume`
// process every file exactly once overall. Several engines start here one after the other: generous time limits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, firstDifference, pipeline, processesOf, python, readWithNumpy, referenceStats, root, type NumpyArray } from './helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');
const writerScript = join(root, 'test/fixtures/simulate_acquisition.py');
const scratch = mkdtempSync(join(tmpdir(), 'emflow-acquisition-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function start(command: string, args: string[], options: { detached?: boolean } = {}): Started {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const emflow = (...args: string[]) => start(process.execPath, [cli, ...args], { detached: true });

/** The /dev/shm session folder of the engine process `pid`, once it has one. */
async function sessionDirOf(pid: number, exited: Promise<unknown>): Promise<string> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300; i++) {
    for (const name of readdirSync('/dev/shm').filter((n) => n.startsWith('emflow-'))) {
      try {
        if ((JSON.parse(readFileSync(`/dev/shm/${name}/owner.json`, 'utf8')) as { pid: number }).pid === pid) return `/dev/shm/${name}`;
      } catch {
        // not written yet, or gone
      }
    }
    if (gone) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no session folder of process ${pid} appeared`);
}

interface FilePlan {
  name: string;
  shape: number[];
  pieces?: number;
  pause?: number;
}

interface Acquired {
  files: { name: string; started: number; finished: number }[];
  marker: number | null;
}

/** Start the writer process; resolves with its timing report. */
function acquire(folder: string, files: FilePlan[], every: number, marker: string | null): Promise<Acquired> {
  const plan = join(scratch, `plan-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(plan, JSON.stringify({ folder, seed: 11, every, marker, files }));
  const writer = start(python, [writerScript, plan]);
  return writer.exited.then(({ code }) => {
    if (code !== 0) throw new Error(`the acquisition writer exited with ${code}: ${writer.stderr()}`);
    return JSON.parse(writer.stdout()) as Acquired;
  });
}

/** A watching folder-source into an npy-writer (files named by frame and source name) and stats (written by --out). */
function watchingPipeline(folder: string, npyDir: string, watch: Record<string, unknown>, slowMs?: number) {
  const slow = slowMs !== undefined;
  return pipeline(
    [
      { id: 'src', operator: 'folder-source', params: { folder, pattern: '*.mrc', watch: true, interval: 50, ...watch } },
      ...(slow ? [{ id: 'slow', operator: 'test-slow', params: { ms: slowMs } }] : []),
      { id: 'npy', operator: 'npy-writer', params: { path: join(npyDir, '{frame:04d}-{name}.npy') } },
      { id: 'stats', operator: 'stats' },
    ],
    slow ? ['src.image->slow.image', 'slow.image->npy.data', 'slow.image->stats.image'] : ['src.image->npy.data', 'src.image->stats.image'],
  );
}

function writePipeline(name: string, document: object): string {
  const path = join(scratch, name);
  writeFileSync(path, JSON.stringify({ ...document, operators: [join(root, 'test/operators')] }));
  return path;
}

/** Frame by frame: [source file, section] of every frame in acquisition (= name) order, with NumPy's arrays (stats: computed here from them). */
function expectedFrames(folder: string, names: string[]): { name: string; section: number; array: NumpyArray }[] {
  return readWithNumpy(...names.map((n) => join(folder, n))).flatMap((volume, k) => {
    const [z, y, x] = volume.shape;
    return Array.from({ length: z }, (_, section) => ({
      name: names[k],
      section,
      array: { ...volume, shape: [y, x], values: volume.values.subarray(section * y * x, (section + 1) * y * x) },
    }));
  });
}

/** The frames' npy files and --out stats are the expected ones: each frame once, in order, values as NumPy has them. */
function checkResults(npyDir: string, out: string, expected: ReturnType<typeof expectedFrames>): void {
  const npyNames = expected.map(({ name }, k) => `${String(k).padStart(4, '0')}-${name.replace(/\.mrc$/, '')}.npy`);
  expect(readdirSync(npyDir).sort()).toEqual(npyNames);
  const written = readWithNumpy(...npyNames.map((n) => join(npyDir, n)));
  expected.forEach(({ name, section, array }, k) => {
    expect(written[k].shape, `${name} section ${section}`).toEqual(array.shape);
    expect(firstDifference(written[k].values, array.values), `${name} section ${section}`).toBeUndefined();
    const stats = JSON.parse(readFileSync(join(out, `stats.stats.${k}.json`), 'utf8')) as Record<string, number>;
    const reference = referenceStats(array.values);
    for (const key of ['mean', 'std', 'min', 'max', 'sum'] as const) expect(stats[key] / reference[key], `${name} ${key}`).toBeCloseTo(1, 9);
  });
  expect(readdirSync(out).filter((n) => n.startsWith('stats.')).length).toBe(expected.length);
}

interface RunJson {
  ok: boolean;
  nodes: Record<string, { frames: number }>;
}

describe('emflow run following an acquisition', () => {
  it('processes every file once, in order, never half-written, and ends on the done marker', async () => {
    const folder = join(scratch, 'acquisition');
    const [npyDir, out] = [join(scratch, 'acquisition-npy'), join(scratch, 'acquisition-out')];
    for (const dir of [folder, npyDir]) mkdirSync(dir);
    // 12 files of 96 × 128 float32, one every 120 ms; mic-002, -006 and -009 written in 4 pieces 250 ms apart
    // (5 checks), the first piece shorter than the MRC header
    const files: FilePlan[] = Array.from({ length: 12 }, (_, k) => ({ name: `mic-${String(k).padStart(3, '0')}.mrc`, shape: [96, 128] }));
    for (const k of [2, 6, 9]) Object.assign(files[k], { pieces: 4, pause: 0.25 });
    const file = writePipeline('acquisition.json', watchingPipeline(folder, npyDir, { doneMarker: 'ACQUISITION_DONE' }));

    const run = emflow('run', file, '--out', out, '--json', '--progress', 'plain');
    const dir = await sessionDirOf(run.child.pid!, run.exited);
    // the acquisition starts once the operators are up: the files arrive while the source watches
    for (let i = 0; i < 200 && !run.stderr().includes('node src (folder-source) running'); i++) await new Promise((r) => setTimeout(r, 50));
    const acquired = await acquire(folder, files, 0.12, 'ACQUISITION_DONE');
    const { code, at } = await run.exited;

    expect(code, run.stderr()).toBe(0);
    const report = JSON.parse(run.stdout()) as RunJson;
    expect(report.ok).toBe(true);
    expect(Object.values(report.nodes).map((n) => n.frames)).toEqual([12, 12, 12]);
    // ended by itself, soon after the marker
    expect(at - acquired.marker! * 1000).toBeGreaterThan(0);
    expect(at - acquired.marker! * 1000).toBeLessThan(5000);
    // the slow files took > 0.7 s each to write: the source saw them incomplete at several checks
    for (const k of [2, 6, 9]) expect(acquired.files[k].finished - acquired.files[k].started).toBeGreaterThan(0.7);
    checkResults(npyDir, out, expectedFrames(folder, files.map((f) => f.name)));
    await expectNoLeaks(dir);
  }, 120_000);

  it('ends after the idle timeout once files stop coming', async () => {
    const folder = join(scratch, 'idle');
    const [npyDir, out] = [join(scratch, 'idle-npy'), join(scratch, 'idle-out')];
    for (const dir of [folder, npyDir]) mkdirSync(dir);
    const files: FilePlan[] = Array.from({ length: 5 }, (_, k) => ({ name: `img-${k}.mrc`, shape: k === 3 ? [2, 40, 50] : [40, 50] }));
    Object.assign(files[4], { pieces: 3, pause: 0.3 });
    const idleTimeout = 1500;
    const file = writePipeline('idle.json', watchingPipeline(folder, npyDir, { idleTimeout }));

    // writer and run start together: files keep coming (every 300 ms) while the operators start and after
    const acquisition = acquire(folder, files, 0.3, null);
    const run = emflow('run', file, '--out', out, '--json');
    const dir = await sessionDirOf(run.child.pid!, run.exited);
    const acquired = await acquisition;
    const { code, at } = await run.exited;

    expect(code, run.stderr()).toBe(0);
    expect(Object.values((JSON.parse(run.stdout()) as RunJson).nodes).map((n) => n.frames)).toEqual([6, 6, 6]);
    const sinceLastWrite = at - acquired.files[4].finished * 1000;
    expect(sinceLastWrite).toBeGreaterThanOrEqual(idleTimeout - 100);
    expect(sinceLastWrite).toBeLessThan(idleTimeout + 4000);
    checkResults(npyDir, out, expectedFrames(folder, files.map((f) => f.name)));
    await expectNoLeaks(dir);
  }, 120_000);
});

describe('emflow run --resume', () => {
  it('goes on after a SIGKILL half way: every file processed exactly once overall', async () => {
    const folder = join(scratch, 'resume');
    const [npyDir, out] = [join(scratch, 'resume-npy'), join(scratch, 'resume-out')];
    for (const dir of [folder, npyDir]) mkdirSync(dir);
    // 10 files, mic-003 a stack of 3 sections: 12 frames; all there, and the marker, before the run starts
    const files: FilePlan[] = Array.from({ length: 10 }, (_, k) => ({ name: `mic-${String(k).padStart(3, '0')}.mrc`, shape: k === 3 ? [3, 64, 64] : [64, 64] }));
    await acquire(folder, files, 0, 'ACQUISITION_DONE');
    const expected = expectedFrames(folder, files.map((f) => f.name));
    expect(expected).toHaveLength(12);
    // 400 ms per frame: a kill right after a file is journaled comes long before the next frame is written
    const file = writePipeline('resume.json', watchingPipeline(folder, npyDir, { doneMarker: 'ACQUISITION_DONE' }, 400));
    const journal = join(out, '.emflow-resume', 'src.jsonl');
    const journaled = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; frames: number }) : []);

    // first run: --resume without a journal is a fresh run; killed with its whole process group once 5 files are done
    const first = emflow('run', file, '--out', out, '--resume', '--json');
    const firstDir = await sessionDirOf(first.child.pid!, first.exited);
    for (let i = 0; i < 600 && journaled().length < 5; i++) await new Promise((r) => setTimeout(r, 20));
    expect(journaled().length).toBeGreaterThanOrEqual(5);
    process.kill(-first.child.pid!, 'SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const done = journaled();
    const doneFrames = done.reduce((sum, e) => sum + e.frames, 0);
    expect(done.map((e) => e.path)).toEqual(files.slice(0, done.length).map((f) => join(folder, f.name)));
    expect(done.length).toBeLessThan(files.length);
    // frames of the killed run past the journal may have been written; none of a file missing from it was
    expect(readdirSync(npyDir).length).toBeGreaterThanOrEqual(doneFrames);
    // operators of the killed engine stop by themselves when its socket goes
    for (let i = 0; i < 100 && processesOf(firstDir).length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(processesOf(firstDir)).toEqual([]);

    // second run: only the files not journaled; the npy-writer (overwrite false) would fail on a file written twice
    const second = emflow('run', file, '--out', out, '--resume', '--json');
    const secondDir = await sessionDirOf(second.child.pid!, second.exited);
    const resumed = await second.exited;
    expect(resumed.code, second.stderr()).toBe(0);
    expect(second.stderr()).toContain(`emflow: resuming "src": ${done.length} files (${doneFrames} frames) done by earlier runs are skipped`);
    const report = JSON.parse(second.stdout()) as RunJson;
    expect(Object.fromEntries(Object.entries(report.nodes).map(([id, n]) => [id, n.frames]))).toEqual({ src: 12 - doneFrames, slow: 12 - doneFrames, npy: 12 - doneFrames, stats: 12 - doneFrames });
    checkResults(npyDir, out, expected);
    expect(journaled().map((e) => [e.path, e.frames])).toEqual(files.map((f, k) => [join(folder, f.name), k === 3 ? 3 : 1]));
    await expectNoLeaks(firstDir); // swept by the second run
    await expectNoLeaks(secondDir);

    // third run: all done, nothing computed
    const third = emflow('run', file, '--out', out, '--resume', '--json');
    expect((await third.exited).code, third.stderr()).toBe(0);
    const nodes = (JSON.parse(third.stdout()) as RunJson).nodes;
    expect([nodes.slow.frames, nodes.npy.frames, nodes.stats.frames]).toEqual([0, 0, 0]);
    checkResults(npyDir, out, expected);
    expect(journaled()).toHaveLength(10);
  }, 180_000);

  it('needs --out, and a source that can resume', async () => {
    const file = writePipeline('no-source.json', pipeline([{ id: 'src', operator: 'synthetic' }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']));
    const withoutOut = emflow('run', file, '--resume');
    expect(await withoutOut.exited).toMatchObject({ code: 2 });
    expect(withoutOut.stderr()).toContain('--resume needs --out DIR');
    const withoutSource = emflow('run', file, '--resume', '--out', join(scratch, 'no-source-out'));
    expect(await withoutSource.exited).toMatchObject({ code: 2 });
    expect(withoutSource.stderr()).toContain(`--resume: ${file} has no source that can resume`);
  });
});
