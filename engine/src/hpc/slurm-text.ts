// What Slurm's commands print, read into values, and Slurm's terse states and errors said in one sentence each.
// Pure: the commands are run in slurm.ts; these functions are tested on the texts real Slurm prints.

/** A Slurm problem told in one line (no stack): a missing Slurm, a refused submission, an unknown job. */
export class SlurmError extends Error {
  override name = 'SlurmError';
}

/** The job id of `sbatch --parsable` ("1234", or "1234;cluster" on a multi-cluster setup). */
export function parseSbatchParsable(stdout: string): string {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  const match = line === undefined ? null : /^(\d+)(?:;\S+)?$/.exec(line);
  if (!match) throw new SlurmError(`sbatch printed no job id (it printed ${JSON.stringify(stdout.trim().slice(0, 200))})`);
  return match[1];
}

/** One job as emflow shows it. */
export interface JobRow {
  id: string;
  name: string;
  /** Slurm's state word: PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, ... */
  state: string;
  /** time used, as Slurm prints it ([D-]HH:MM:SS or M:SS) */
  elapsed: string;
  /** the time limit, as Slurm prints it */
  timeLimit?: string;
  /** why a job waits or ended (Slurm's reason code), when it has one */
  reason?: string;
  /** exit code and signal ("1:0"), when known */
  exitCode?: string;
  /** who cancelled it (sacct's "CANCELLED by 0"), when known */
  cancelledBy?: string;
  /** where it came from */
  source: 'squeue' | 'sacct' | 'scontrol';
}

/** squeue's -o format emflow uses: the name last, so that a `|` in another job's name cannot shift the fields. */
export const SQUEUE_FORMAT = '%i|%T|%M|%l|%r|%j';

/** squeue --noheader -o SQUEUE_FORMAT lines. */
export function parseSqueue(stdout: string): JobRow[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, state, elapsed, timeLimit, reason, ...name] = line.split('|');
      return { id: id.trim(), name: name.join('|'), state: state.trim(), elapsed, timeLimit, reason: reason === 'None' || reason === '' ? undefined : reason, source: 'squeue' as const };
    });
}

/** sacct's fields emflow asks for (--parsable2 --noheader -X), the name last for the same reason. */
export const SACCT_FORMAT = 'JobID,State,Elapsed,Timelimit,ExitCode,JobName';

/** sacct --parsable2 --noheader -X --format=SACCT_FORMAT lines; states such as "CANCELLED by 1000" are split. */
export function parseSacct(stdout: string): JobRow[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, rawState, elapsed, timeLimit, exitCode, ...name] = line.split('|');
      const by = /^(\S+)\s+by\s+(\S+)$/.exec(rawState.trim());
      return {
        id: id.trim(),
        name: name.join('|'),
        state: (by ? by[1] : rawState.trim()).replace(/\+$/, ''),
        elapsed,
        timeLimit,
        exitCode,
        ...(by ? { cancelledBy: by[2] } : {}),
        source: 'sacct' as const,
      };
    })
    .filter((row) => /^\d+$/.test(row.id)); // allocations only: steps (1234.batch) and array ranges are not jobs of their own
}

/** `scontrol show job JOB -o`: one line of Key=Value pairs (values may hold spaces, e.g. a path). */
export function parseScontrolJob(stdout: string): Record<string, string> {
  return scontrolFields(stdout.split('\n').find((l) => /\bJobId=\d+/.test(l)) ?? '');
}

/** The Key=Value fields of one `scontrol show … --oneliner` line (a job, a node), in an object without a prototype. */
export function scontrolFields(line: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  // a key starts a word and is followed by '='; a value runs to the next such key (values may hold spaces)
  const keys = [...line.matchAll(/(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g)];
  keys.forEach((match, i) => {
    const start = match.index! + match[0].length;
    const end = i + 1 < keys.length ? keys[i + 1].index! : line.length;
    fields[match[1]] = line.slice(start, end).trim();
  });
  return fields;
}

/** A JobRow from scontrol's fields. */
export function jobFromScontrol(fields: Record<string, string>): JobRow {
  return {
    id: fields.JobId,
    name: fields.JobName ?? '',
    state: fields.JobState ?? 'UNKNOWN',
    elapsed: fields.RunTime ?? '',
    timeLimit: fields.TimeLimit,
    reason: fields.Reason && fields.Reason !== 'None' ? fields.Reason : undefined,
    exitCode: fields.ExitCode,
    source: 'scontrol',
  };
}

/** Jobs from squeue and sacct, one row per id (squeue's view wins: it is live), newest first. */
export function mergeJobs(live: JobRow[], ended: JobRow[]): JobRow[] {
  const byId = new Map<string, JobRow>();
  for (const row of ended) byId.set(row.id, row);
  for (const row of live) {
    const known = byId.get(row.id);
    // sacct knows who cancelled and the exit code; squeue knows the reason
    byId.set(row.id, { ...known, ...row, ...(known?.cancelledBy ? { cancelledBy: known.cancelledBy } : {}), ...(known?.exitCode ? { exitCode: known.exitCode } : {}) });
  }
  return [...byId.values()].sort((a, b) => Number(b.id) - Number(a.id));
}

/** Partitions as `sinfo -h -o %P` lists them; the default one is marked with '*'. */
export function parsePartitions(stdout: string): { names: string[]; default?: string } {
  const listed = [
    ...new Set(
      stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ];
  const names = [...new Set(listed.map((p) => p.replace(/\*$/, '')))];
  return { names, default: listed.find((p) => p.endsWith('*'))?.replace(/\*$/, '') };
}

/** The largest node of `sinfo -h -o '%c %m'` lines (CPUs and MiB per node). */
export function parseNodeSizes(stdout: string): { cpus: number; memMB: number } | undefined {
  let best: { cpus: number; memMB: number } | undefined;
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+)\+?\s+(\d+)\+?\s*$/.exec(line);
    if (!match) continue;
    const cpus = Number(match[1]);
    const memMB = Number(match[2]);
    best = { cpus: Math.max(cpus, best?.cpus ?? 0), memMB: Math.max(memMB, best?.memMB ?? 0) };
  }
  return best;
}

/** What was asked of sbatch, to say why it refused. */
export interface SubmitRequest {
  partition?: string;
  time?: string;
  cpus: number;
  memMB: number;
}

/** sbatch's error text (stderr) as one line that says what to change. `partitions`: from sinfo, when known. */
export function sbatchErrorMessage(stderr: string, request: SubmitRequest, partitions?: string[]): string {
  const text = stderr.replace(/\r/g, '');
  const known = partitions?.length ? ` (partitions: ${partitions.join(', ')})` : '';
  const badPartition = /invalid partition specified: (\S+)/i.exec(text)?.[1] ?? (/Invalid partition name specified/i.test(text) ? request.partition : undefined);
  if (badPartition !== undefined) return `no such partition "${badPartition}"${known}`;
  if (/Invalid --time specification|Invalid time limit specification/i.test(text)) return `--time ${request.time}: Slurm cannot read this time limit (minutes, MM:SS, HH:MM:SS or D-HH:MM:SS)`;
  if (/Requested time limit is invalid|time limit exceeds/i.test(text)) return `--time ${request.time}: longer than partition ${request.partition ?? '(default)'} allows (see its MaxTime: sinfo -o '%P %l')`;
  if (/Memory specification can not be satisfied|Requested node configuration is not available|CPU count per node can not be satisfied/i.test(text)) {
    return `partition ${request.partition ?? '(default)'} has no node with ${request.cpus} CPUs and ${request.memMB} MiB of memory (see sinfo -o '%P %c %m'; --cpus and --mem set what is asked)`;
  }
  if (/More processors requested than permitted/i.test(text)) return `more CPUs (${request.cpus}) than partition ${request.partition ?? '(default)'} permits per job; --cpus sets them`;
  if (/Job violates accounting\/QOS policy|Invalid account/i.test(text)) return `Slurm refused the job for an account or QOS policy: ${lastError(text)}`;
  if (/Unable to contact slurm controller|Socket timed out|Connection refused/i.test(text)) return `Slurm's controller (slurmctld) does not answer: ${lastError(text)}`;
  if (/munge|authentication/i.test(text)) return `Slurm could not authenticate the request (is munged running?): ${lastError(text)}`;
  return `sbatch refused the job: ${lastError(text)}`;
}

/** The last "sbatch: error: ..." line, without its prefix (or the last line at all). */
function lastError(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /error:/i.test(l));
  return (errors.pop() ?? lines.pop() ?? 'no message').replace(/^\w+: error: /, '').replace(/^Batch job submission failed: /, '');
}

/** States in which a job is over. */
const ENDED = new Set(['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT']);
export const isEnded = (state: string) => ENDED.has(state.replace(/\+$/, '').split(/\s/)[0]);

/** Slurm's pending reasons most often met, in words. */
const PENDING: Record<string, string> = {
  Resources: 'waiting for CPUs or memory to become free',
  Priority: 'waiting behind jobs of higher priority',
  PartitionTimeLimit: 'its time limit is longer than the partition allows: it will never start (scancel it and submit with a shorter --time)',
  PartitionConfig: 'it asks for more CPUs, memory or GPUs than a node of the partition has: it will never start (scancel it)',
  PartitionNodeLimit: 'it asks for more than a node of the partition has: it will never start',
  PartitionDown: 'the partition is down',
  PartitionInactive: 'the partition is inactive',
  ReqNodeNotAvail: 'the nodes it needs are not available (down, drained or reserved)',
  BeginTime: 'waiting for its start time',
  Dependency: 'waiting for a job it depends on',
  JobHeldUser: 'held by its user (scontrol release JOB)',
  JobHeldAdmin: 'held by an administrator',
  QOSMaxCpuPerUserLimit: "its CPUs exceed the QOS's per-user limit for now",
};

/** A job's state in one sentence: why it waits, or why it ended when it did not complete. */
export function stateSentence(job: JobRow): string {
  const state = job.state.replace(/\+$/, '');
  const after = job.elapsed ? ` after ${job.elapsed}` : '';
  const exit = job.exitCode && job.exitCode !== '0:0' ? job.exitCode.split(':') : undefined;
  switch (state) {
    case 'PENDING':
      return `job ${job.id} is pending: ${(job.reason && PENDING[job.reason]) ?? job.reason ?? 'waiting to be scheduled'}`;
    case 'CONFIGURING':
    case 'RUNNING':
    case 'COMPLETING':
      return `job ${job.id} is running (${job.elapsed || '0:00'}${job.timeLimit && job.timeLimit !== 'UNLIMITED' ? ` of ${job.timeLimit}` : ''})`;
    case 'COMPLETED':
      return `job ${job.id} completed${after}`;
    case 'TIMEOUT':
      return `job ${job.id} hit its time limit${job.timeLimit ? ` (${job.timeLimit})` : ''} and was stopped by Slurm${after}: submit it again with a longer --time`;
    case 'CANCELLED':
      return `job ${job.id} was cancelled${job.cancelledBy ? ` (by user id ${job.cancelledBy})` : ''}${after}${job.reason && job.reason !== 'None' ? ` (${job.reason})` : ''}`;
    case 'OUT_OF_MEMORY':
      return `job ${job.id} ran out of memory and was killed${after}: submit it again with more --mem`;
    case 'FAILED':
      return `job ${job.id} failed${after}${exit ? (exit[1] !== '0' ? `: killed by signal ${exit[1]}` : `: exit code ${exit[0]}`) : ''}${job.reason && !/^(NonZeroExitCode|None)$/.test(job.reason) ? ` (${job.reason})` : ''}`;
    case 'NODE_FAIL':
      return `job ${job.id} ended because its node failed${after}: submit it again`;
    case 'PREEMPTED':
      return `job ${job.id} was preempted by a job of higher priority${after}`;
    case 'BOOT_FAIL':
      return `job ${job.id} never started: its node failed to boot`;
    case 'DEADLINE':
      return `job ${job.id} was not run: it could not finish before its deadline`;
    default:
      return `job ${job.id} is ${state.toLowerCase()}${job.reason ? ` (${job.reason})` : ''}`;
  }
}

/** Did the job end badly (the sentence is then worth printing as a failure)? */
export const endedBadly = (state: string) => isEnded(state) && state.replace(/\+$/, '').split(/\s/)[0] !== 'COMPLETED';
