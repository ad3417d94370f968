// emflow submit, jobs and logs against a real Slurm (single node, partition debug): a pipeline run as a batch
// job gives the same outputs as emflow run here; its log shows the progress and the report; a job that hits
// its time limit or is cancelled is said to have, in words; Slurm's refusals are one clear line and submit
// nothing; a bad pipeline is never submitted.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { pipeline, root } from '../helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');
const scratch = mkdtempSync(join(tmpdir(), 'emflow-slurm-'));
const submitted: string[] = [];
afterAll(() => {
  // nothing of ours stays queued, whatever failed
  if (submitted.length) spawnSync('scancel', submitted, { encoding: 'utf8' });
  rmSync(scratch, { recursive: true, force: true });
});

function emflow(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: options.env ?? process.env, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function submit(args: string[]): { job: string; script: string; log: string; out: string; cpus: number; memMB: number; stderr: string } {
  const result = emflow(['submit', ...args, '--json']);
  expect(result.stderr.replace(/^emflow: note: .*\n/gm, '')).toBe('');
  expect(result.code).toBe(0);
  const submittedJob = JSON.parse(result.stdout) as { job: string; script: string; log: string; out: string; cpus: number; memMB: number };
  submitted.push(submittedJob.job);
  return { ...submittedJob, stderr: result.stderr };
}

interface ListedJob {
  id: string;
  name: string;
  state: string;
  elapsed: string;
  why?: string;
}

function listed(id: string): ListedJob | undefined {
  const result = emflow(['jobs', '--json']);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { jobs: ListedJob[] }).jobs.find((job) => job.id === id);
}

/** Poll `emflow jobs --json` until the job is in one of `states` (bounded). */
async function waitFor(id: string, states: string[], timeoutMs: number): Promise<ListedJob> {
  const start = Date.now();
  let job: ListedJob | undefined;
  while (Date.now() - start < timeoutMs) {
    job = listed(id);
    if (job && states.includes(job.state)) return job;
    await sleep(1000);
  }
  throw new Error(`job ${id} did not reach ${states.join('/')} within ${timeoutMs / 1000} s (last seen: ${JSON.stringify(job)})`);
}

/** Processes of a job still alive (anything with its SLURM_JOB_ID in the environment). */
function processesOfJob(id: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`SLURM_JOB_ID=${id}`) && !/\) Z /.test(readFileSync(`/proc/${entry}/stat`, 'latin1'))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function expectNoProcessesOf(id: string): Promise<void> {
  for (let i = 0; i < 100 && processesOfJob(id).length; i++) await sleep(100);
  expect(processesOfJob(id)).toEqual([]);
}

const queued = () => spawnSync('squeue', ['--me', '--noheader', '--states=all', '--format=%i'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
const nodeCpus = Number(spawnSync('sinfo', ['--noheader', '--partition=debug', '--format=%c'], { encoding: 'utf8' }).stdout.trim().split('\n')[0].replace(/\+$/, ''));
/** The result files (the run record, emflow-run.json, differs from run to run: times, host, command). */
const jsonFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'emflow-run.json')
    .sort();

/** A stream far longer than any limit the tests give: 32x32 frames, each held 200 ms by test-slow. */
const slowStream = join(scratch, 'slow stream.json');
writeFileSync(
  slowStream,
  JSON.stringify({
    ...pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 32, height: 32, count: 100000, seed: 1 } },
        { id: 'slow', operator: 'test-slow', params: { ms: 200 } },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->slow.image', 'slow.image->stats.image'],
    ),
    name: 'slow stream',
  }),
);
const testOperators = join(root, 'test/operators');

describe('emflow submit', () => {
  it('runs blur-stats as a batch job with the same outputs as emflow run here; logs show progress and report; the script runs again by hand', async () => {
    const local = join(scratch, 'local');
    const here = emflow(['run', 'pipelines/blur-stats.json', '--out', local]);
    expect(here.code).toBe(0);

    // an output folder whose name sbatch and bash would both misread if it were not quoted
    const out = join(scratch, "slurm out 'q' 100% $(x)");
    const started = Date.now();
    const job = submit(['pipelines/blur-stats.json', '--runtime', 'process', '--partition', 'debug', '--time', '5', '--out', out]);
    expect(job.out).toBe(out);
    expect(job.script).toBe(join(out, 'emflow-blur-and-measure.sbatch'));
    expect(job.log).toBe(join(out, `emflow-${job.job}.log`));
    // four operators, one CPU and 1 GiB each, on a node with nodeCpus CPUs
    expect(job.cpus).toBe(Math.min(4, nodeCpus));
    if (nodeCpus < 4) expect(job.stderr).toContain(`the operators ask for 4 CPUs together; the partition's largest node has ${nodeCpus}`);
    expect(statSync(job.script).mode & 0o777).toBe(0o644);
    const script = readFileSync(job.script, 'utf8');
    expect(script).toMatch(/^#!\/bin\/bash\n#SBATCH --job-name=emflow-blur-and-measure\n/);
    expect(script).toContain('--progress plain');

    const done = await waitFor(job.job, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL'], 120_000);
    process.stderr.write(`slurm: job ${job.job} (blur-stats) ${done.state} in ${((Date.now() - started) / 1000).toFixed(1)} s from submit\n`);
    expect(done).toMatchObject({ name: 'emflow-blur-and-measure', state: 'COMPLETED' });
    expect(done.why).toBeUndefined();

    // what Slurm granted: the CPUs asked for
    const shown = spawnSync('scontrol', ['show', 'job', '--oneliner', job.job], { encoding: 'utf8' }).stdout;
    expect(shown).toContain(`NumCPUs=${job.cpus} `);
    expect(shown).toContain('JobName=emflow-blur-and-measure ');

    // byte-identical outputs
    const files = jsonFiles(local);
    expect(files.length).toBe(4);
    expect(jsonFiles(out)).toEqual(files);
    for (const f of files) expect(readFileSync(join(out, f)).equals(readFileSync(join(local, f))), f).toBe(true);

    const logs = emflow(['logs', job.job]);
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    for (const [node, operator] of [
      ['src', 'synthetic'],
      ['blur', 'gaussian-blur'],
      ['scale', 'scale'],
      ['stats', 'stats'],
    ]) {
      expect(logs.stdout).toContain(`emflow: node ${node} (${operator}) running\n`);
      expect(logs.stdout).toMatch(new RegExp(`emflow: node ${node} \\(${operator}\\) done 4 frames \\d+\\.\\d ms\\n`));
      expect(logs.stdout).toMatch(new RegExp(`\\n${node} +${operator} +4  \\d+\\.\\d ms\\n`));
    }
    expect(logs.stdout).toMatch(/\nnode +operator +frames +time\n/);
    expect(logs.stdout).toMatch(/\nrun 1 finished in \d+ ms, 4 output files written\n$/);
    expect(logs.stdout).not.toContain('"ok":true'); // the report is shown as the table, not as JSON
    const report = JSON.parse(emflow(['logs', job.job, '--json']).stdout) as { job: ListedJob; log: string; report: { ok: boolean; nodes: Record<string, { frames: number }> } };
    expect(report.log).toBe(job.log);
    expect(report.report.ok).toBe(true);
    expect(Object.keys(report.report.nodes)).toEqual(['src', 'blur', 'scale', 'stats']);

    // the script, submitted by hand from elsewhere, runs the same job again
    rmSync(join(out, files[0]));
    const again = spawnSync('sbatch', ['--parsable', job.script], { cwd: '/', encoding: 'utf8' });
    expect(again.status).toBe(0);
    const second = again.stdout.trim();
    submitted.push(second);
    expect((await waitFor(second, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT'], 120_000)).state).toBe('COMPLETED');
    expect(readFileSync(join(out, files[0])).equals(readFileSync(join(local, files[0])))).toBe(true);
    expect(existsSync(join(out, `emflow-${second}.log`))).toBe(true);
  });

  it('says a partition does not exist, naming the ones there are, and submits nothing', () => {
    const before = queued();
    const out = join(scratch, 'nope');
    const result = emflow(['submit', 'pipelines/blur-stats.json', '--partition', 'nope', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.replace(/^emflow: note: .*\n/gm, '')).toMatch(/^emflow: no such partition "nope" \(partitions: ([\w.-]+, )*debug(, [\w.-]+)*\)\n$/);
    expect(queued()).toEqual(before);
  });

  it('never writes or submits a pipeline that is not valid', () => {
    const before = queued();
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, JSON.stringify(pipeline([{ id: 'src', operator: 'synthetic', params: { width: 0 } }], [])));
    const out = join(scratch, 'bad-out');
    const result = emflow(['submit', bad, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain('/nodes/0/params/width: expected a value >= 1, got 0');
    expect(existsSync(out)).toBe(false);
    const unknown = emflow(['submit', 'pipelines/blur-stats.json', '--set', 'blurr.sigma=3', '--out', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no node "blurr"');
    expect(existsSync(out)).toBe(false);
    expect(queued()).toEqual(before);
  });

  it('says so in one line where Slurm is not installed', () => {
    const result = emflow(['submit', 'pipelines/blur-stats.json', '--out', join(scratch, 'no-slurm')], { env: { ...process.env, PATH: '/nonexistent' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^emflow: sbatch is not on PATH: this machine has no Slurm client commands .*\n$/);
    expect(existsSync(join(scratch, 'no-slurm'))).toBe(false);
    const jobs = emflow(['jobs'], { env: { ...process.env, PATH: '/nonexistent' } });
    expect(jobs.code).toBe(1);
    expect(jobs.stderr).toMatch(/^emflow: squeue is not on PATH/);
  });
});

describe('jobs that do not complete', () => {
  it('a job cancelled while it runs is reported as cancelled, and nothing of it is left running', async () => {
    const job = submit([slowStream, '--operators', testOperators, '--partition', 'debug', '--time', '10', '--cpus', '1', '--mem', '256', '--out', join(scratch, 'cancelled')]);
    await waitFor(job.job, ['RUNNING'], 120_000);
    // the run is under way: its log shows the slow node running
    for (let i = 0; i < 300 && !(existsSync(job.log) && readFileSync(job.log, 'utf8').includes('emflow: node slow (test-slow) running')); i++) await sleep(100);
    const running = emflow(['logs', job.job]);
    expect(running.code).toBe(0);
    expect(running.stdout).toContain('emflow: node slow (test-slow) running\n');
    expect(running.stderr).toMatch(new RegExp(`^emflow: job ${job.job} is running \\(`));

    // emflow logs --follow prints the log as it grows and ends with the job
    const follow = spawn(process.execPath, [cli, 'logs', job.job, '--follow'], { cwd: root });
    const followed = { stdout: '', stderr: '' };
    follow.stdout.on('data', (d: Buffer) => (followed.stdout += d.toString()));
    follow.stderr.on('data', (d: Buffer) => (followed.stderr += d.toString()));
    const followEnd = new Promise<number | null>((resolve) => follow.on('exit', resolve));
    for (let i = 0; i < 100 && !followed.stdout.includes('emflow: node slow (test-slow) running'); i++) await sleep(100);
    expect(followed.stdout).toContain('emflow: node slow (test-slow) running\n');

    const cancelledAt = Date.now();
    expect(spawnSync('scancel', [job.job]).status).toBe(0);
    const followCode = await Promise.race([followEnd, sleep(30_000).then(() => 'still following')]);
    process.stderr.write(`slurm: job ${job.job} cancelled; emflow logs --follow ended ${((Date.now() - cancelledAt) / 1000).toFixed(1)} s later\n`);
    expect(followCode).toBe(1);
    expect(followed.stderr).toMatch(new RegExp(`emflow: job ${job.job} was cancelled.*\\n$`));
    const cancelled = await waitFor(job.job, ['CANCELLED', 'COMPLETED', 'FAILED', 'TIMEOUT'], 60_000);
    expect(cancelled.state).toBe('CANCELLED');
    expect(cancelled.why).toMatch(new RegExp(`^job ${job.job} was cancelled`));
    const logs = emflow(['logs', job.job]);
    expect(logs.code).toBe(1);
    expect(logs.stderr).toMatch(new RegExp(`emflow: job ${job.job} was cancelled.*\\n$`));
    await expectNoProcessesOf(job.job);
  });

  it('a job that hits its time limit ends TIMEOUT and emflow logs says the limit was hit', async () => {
    const started = Date.now();
    const job = submit([slowStream, '--operators', testOperators, '--time', '0:01', '--cpus', '1', '--mem', '256', '--out', join(scratch, 'timeout')]);
    expect(readFileSync(job.script, 'utf8')).toContain('#SBATCH --time=0:01\n');
    const ended = await waitFor(job.job, ['TIMEOUT', 'COMPLETED', 'FAILED', 'CANCELLED'], 240_000);
    process.stderr.write(`slurm: job ${job.job} (time limit 0:01) ${ended.state} after ${((Date.now() - started) / 1000).toFixed(1)} s from submit, elapsed ${ended.elapsed}\n`);
    expect(ended.state).toBe('TIMEOUT');
    expect(ended.why).toMatch(/hit its time limit/);
    const logs = emflow(['logs', job.job]);
    expect(logs.code).toBe(1);
    expect(logs.stdout).toContain('emflow: node slow (test-slow) running\n');
    expect(logs.stderr).toMatch(new RegExp(`emflow: job ${job.job} hit its time limit \\(00:01:00\\) and was stopped by Slurm after [\\d:]+: submit it again with a longer --time\\n$`));
    await expectNoProcessesOf(job.job);
  });

  it('an unknown job id is one clear line', () => {
    const result = emflow(['logs', '987654321']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^emflow: no job 987654321 is known to Slurm/);
    expect(emflow(['logs', '12; rm -rf /']).code).toBe(2);
  });
});
