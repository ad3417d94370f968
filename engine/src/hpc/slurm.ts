// Slurm's commands as emflow calls them (node:child_process, no shell): sbatch, squeue, sacct, scontrol, sinfo.
// A command that is not on PATH is one line saying that this machine has no Slurm; everything else Slurm
// prints is read by the pure functions of slurm-text.ts.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  jobFromScontrol,
  parseNodeSizes,
  parsePartitions,
  parseSacct,
  parseSbatchParsable,
  parseScontrolJob,
  parseSqueue,
  SACCT_FORMAT,
  sbatchErrorMessage,
  SlurmError,
  SQUEUE_FORMAT,
  type JobRow,
  type SubmitRequest,
} from './slurm-text.js';
import type { NodeSize } from './script.js';

type SlurmCommand = 'sbatch' | 'squeue' | 'sacct' | 'scontrol' | 'sinfo' | 'scancel';

/** The absolute path of a command on PATH, or undefined. */
export function onPath(command: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const noSlurm = (command: string) =>
  new SlurmError(`${command} is not on PATH: this machine has no Slurm client commands (emflow submit, jobs and logs run where sbatch, squeue and scontrol do, e.g. a cluster's login node)`);

/** Fail now, with the one-line reason, when `command` is not on PATH. */
export function requireSlurm(command: SlurmCommand = 'sbatch'): void {
  if (!onPath(command)) throw noSlurm(command);
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a Slurm command; never throws for its exit status (the caller reads it), only when it cannot be started. */
export function slurm(command: SlurmCommand, args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, env: { ...process.env, SLURM_TIME_FORMAT: 'standard' } }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return reject(noSlurm(command));
      if (error && (error as { killed?: boolean }).killed) return reject(new SlurmError(`${command} did not answer within ${timeoutMs / 1000} s (is slurmctld running?)`));
      resolve({ code: typeof code === 'number' ? code : error ? 1 : 0, stdout, stderr });
    });
  });
}

/** Partitions this machine's Slurm has, the default one marked; empty when sinfo cannot say. */
export async function partitions(): Promise<{ names: string[]; default?: string }> {
  const result = await slurm('sinfo', ['--noheader', '--format=%P']).catch(() => undefined);
  return result && result.code === 0 ? parsePartitions(result.stdout) : { names: [] };
}

/** CPUs and memory of the largest node in a partition (the default one when none is named). */
export async function largestNode(partition?: string): Promise<NodeSize | undefined> {
  const name = partition ?? (await partitions()).default;
  const result = await slurm('sinfo', ['--noheader', '--format=%c %m', ...(name ? [`--partition=${name}`] : [])]).catch(() => undefined);
  return result && result.code === 0 ? parseNodeSizes(result.stdout) : undefined;
}

/** sbatch --parsable SCRIPT: the job id, or a SlurmError that says what to change. */
export async function sbatch(script: string, request: SubmitRequest): Promise<string> {
  const result = await slurm('sbatch', ['--parsable', script]);
  if (result.code !== 0) throw new SlurmError(sbatchErrorMessage(result.stderr || result.stdout, request, (await partitions()).names));
  return parseSbatchParsable(result.stdout);
}

/** This user's jobs slurmctld knows: pending and running ones, and those ended within MinJobAge. */
export async function queue(jobs?: string[]): Promise<JobRow[]> {
  const result = await slurm('squeue', ['--noheader', '--states=all', `--format=${SQUEUE_FORMAT}`, ...(jobs ? [`--jobs=${jobs.join(',')}`] : ['--me'])]);
  if (result.code !== 0) {
    // a job id slurmctld has forgotten
    if (jobs && /Invalid job id/i.test(result.stderr)) return [];
    throw new SlurmError(`squeue failed: ${result.stderr.trim() || `exit status ${result.code}`}`);
  }
  return parseSqueue(result.stdout);
}

/** Ended jobs from accounting (sacct), or why there are none to ask. */
export async function accounting(options: { since?: string; jobs?: string[] } = {}): Promise<{ rows: JobRow[] } | { disabled: string }> {
  const args = ['--noheader', '--parsable2', '--allocations', `--format=${SACCT_FORMAT}`];
  if (options.jobs) args.push(`--jobs=${options.jobs.join(',')}`);
  else args.push(`--user=${userInfo().username}`, `--starttime=${options.since ?? 'now-1days'}`);
  const result = await slurm('sacct', args).catch((error: unknown) => ({ code: 127, stdout: '', stderr: (error as Error).message }));
  if (result.code !== 0 || /accounting storage is disabled/i.test(result.stderr)) {
    const why = result.stderr.trim().split('\n').pop()?.replace(/^sacct: error: /, '') || `exit status ${result.code}`;
    return { disabled: `Slurm accounting is not available here (sacct: ${why}): ended jobs are shown only while slurmctld remembers them (MinJobAge, 5 minutes by default)` };
  }
  return { rows: parseSacct(result.stdout) };
}

/** scontrol's view of one job (its fields, StdOut included), or undefined when slurmctld does not know it. */
export async function showJob(id: string): Promise<Record<string, string> | undefined> {
  const result = await slurm('scontrol', ['show', 'job', '--oneliner', id]);
  if (result.code !== 0) {
    if (/Invalid job id/i.test(result.stderr)) return undefined;
    throw new SlurmError(`scontrol show job ${id} failed: ${result.stderr.trim() || `exit status ${result.code}`}`);
  }
  const fields = parseScontrolJob(result.stdout);
  return fields.JobId ? fields : undefined;
}

/** One job as slurmctld or accounting knows it (with its log file while slurmctld has it); a SlurmError when neither does. */
export async function findJob(id: string): Promise<{ job: JobRow; stdout?: string }> {
  const fields = await showJob(id);
  if (fields) return { job: jobFromScontrol(fields), stdout: fields.StdOut };
  const acct = await accounting({ jobs: [id] });
  const job = 'rows' in acct ? acct.rows.find((row) => row.id === id) : undefined;
  if (job) return { job };
  throw new SlurmError(
    `no job ${id} is known to Slurm${'disabled' in acct ? ' (without accounting, slurmctld forgets an ended job after MinJobAge, 5 minutes by default; its log stays in the --out folder it was submitted with, as emflow-' + id + '.log)' : ''}`,
  );
}
