// Reading what Slurm's commands print (sbatch --parsable, squeue, sacct --parsable2, scontrol -o, sinfo) and
// saying Slurm's errors and end states in one sentence. The texts are as Slurm 22.05 prints them.
import { describe, expect, it } from 'vitest';
import {
  endedBadly,
  isEnded,
  jobFromScontrol,
  mergeJobs,
  parseNodeSizes,
  parsePartitions,
  parseSacct,
  parseSbatchParsable,
  parseScontrolJob,
  parseSqueue,
  sbatchErrorMessage,
  SlurmError,
  stateSentence,
  type JobRow,
} from '../src/hpc/slurm-text.js';

describe('parsing', () => {
  it('reads the job id of sbatch --parsable, with or without a cluster name', () => {
    expect(parseSbatchParsable('42\n')).toBe('42');
    expect(parseSbatchParsable('1234;cluster\n')).toBe('1234');
    expect(parseSbatchParsable('sbatch: warning: something\n77\n')).toBe('77');
    expect(() => parseSbatchParsable('')).toThrow(SlurmError);
    expect(() => parseSbatchParsable('Submitted batch job 5\n')).toThrow(SlurmError);
  });

  it('reads squeue lines with the name last (a | in a name does not shift the fields)', () => {
    expect(parseSqueue('17|RUNNING|1:02|10:00|None|emflow-blur-and-measure\n18|PENDING|0:00|1:00|Resources|emflow-a|b\n')).toEqual([
      { id: '17', name: 'emflow-blur-and-measure', state: 'RUNNING', elapsed: '1:02', timeLimit: '10:00', reason: undefined, source: 'squeue' },
      { id: '18', name: 'emflow-a|b', state: 'PENDING', elapsed: '0:00', timeLimit: '1:00', reason: 'Resources', source: 'squeue' },
    ]);
    expect(parseSqueue('')).toEqual([]);
  });

  it('reads sacct --parsable2 lines: allocations only, "CANCELLED by UID" split', () => {
    const rows = parseSacct(
      ['20|COMPLETED|00:00:04|00:10:00|0:0|emflow-blur', '21|CANCELLED by 0|00:00:09|UNLIMITED|0:15|emflow-x', '21.batch|CANCELLED|00:00:09||0:15|batch', '22|TIMEOUT|00:01:21|00:01:00|0:0|emflow-slow', '23|OUT_OF_MEMORY|00:00:02|00:10:00|0:125|emflow-big'].join('\n'),
    );
    expect(rows.map((r) => [r.id, r.state, r.cancelledBy, r.exitCode])).toEqual([
      ['20', 'COMPLETED', undefined, '0:0'],
      ['21', 'CANCELLED', '0', '0:15'],
      ['22', 'TIMEOUT', undefined, '0:0'],
      ['23', 'OUT_OF_MEMORY', undefined, '0:125'],
    ]);
  });

  it('reads scontrol show job -o, values with spaces included', () => {
    const fields = parseScontrolJob(
      'JobId=31 JobName=emflow-blur-and-measure UserId=root(0) GroupId=root(0) Priority=1 JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:0 RunTime=00:01:22 TimeLimit=00:01:00 WorkDir=/work/main StdErr=/tmp/my out/emflow-31.log StdIn=/dev/null StdOut=/tmp/my out/emflow-31.log Power= TresPerNode=gres:gpu:1\n',
    );
    expect(fields).toMatchObject({ JobId: '31', JobState: 'TIMEOUT', Reason: 'TimeLimit', StdOut: '/tmp/my out/emflow-31.log', Power: '', TresPerNode: 'gres:gpu:1', UserId: 'root(0)' });
    expect(jobFromScontrol(fields)).toEqual({ id: '31', name: 'emflow-blur-and-measure', state: 'TIMEOUT', elapsed: '00:01:22', timeLimit: '00:01:00', reason: 'TimeLimit', exitCode: '0:0', source: 'scontrol' });
    expect(parseScontrolJob('slurm_load_jobs error: Invalid job id specified\n')).toEqual({});
  });

  it('reads sinfo partitions (default marked) and the largest node', () => {
    expect(parsePartitions('debug*\nlong\ndebug*\n')).toEqual({ names: ['debug', 'long'], default: 'debug' });
    expect(parseNodeSizes('2 1\n16 64000\n8+ 32000\n')).toEqual({ cpus: 16, memMB: 64000 });
    expect(parseNodeSizes('')).toBeUndefined();
  });

  it('merges squeue and sacct, the live view winning, newest first', () => {
    const acct: JobRow[] = [
      { id: '9', name: 'emflow-a', state: 'CANCELLED', elapsed: '00:00:03', exitCode: '0:15', cancelledBy: '0', source: 'sacct' },
      { id: '10', name: 'emflow-b', state: 'RUNNING', elapsed: '00:00:01', source: 'sacct' },
    ];
    const live: JobRow[] = [
      { id: '10', name: 'emflow-b', state: 'RUNNING', elapsed: '0:05', source: 'squeue' },
      { id: '9', name: 'emflow-a', state: 'CANCELLED', elapsed: '0:03', source: 'squeue' },
    ];
    const merged = mergeJobs(live, acct);
    expect(merged.map((j) => [j.id, j.elapsed, j.source, j.cancelledBy])).toEqual([
      ['10', '0:05', 'squeue', undefined],
      ['9', '0:03', 'squeue', '0'],
    ]);
  });
});

describe('sbatch errors in one line', () => {
  const request = { partition: 'nope', time: '0:01', cpus: 4, memMB: 4096 };
  it('names the partitions there are for a partition that does not exist', () => {
    const stderr = 'sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n';
    expect(sbatchErrorMessage(stderr, request, ['debug', 'long'])).toBe('no such partition "nope" (partitions: debug, long)');
    expect(sbatchErrorMessage('sbatch: error: Batch job submission failed: Invalid partition name specified\n', request)).toBe('no such partition "nope"');
  });

  it('says what to change for time limits, sizes and an unreachable controller', () => {
    expect(sbatchErrorMessage('sbatch: error: Invalid --time specification\n', request)).toMatch(/^--time 0:01: Slurm cannot read/);
    expect(sbatchErrorMessage('sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)\n', request)).toMatch(/longer than partition nope allows/);
    expect(sbatchErrorMessage('sbatch: error: Memory specification can not be satisfied\nsbatch: error: Batch job submission failed: Requested node configuration is not available\n', request)).toBe(
      "partition nope has no node with 4 CPUs and 4096 MiB of memory (see sinfo -o '%P %c %m'; --cpus and --mem set what is asked)",
    );
    expect(sbatchErrorMessage('sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n', request)).toBe(
      "Slurm's controller (slurmctld) does not answer: Unable to contact slurm controller (connect failure)",
    );
    expect(sbatchErrorMessage('sbatch: error: Batch job submission failed: Something new\n', request)).toBe('sbatch refused the job: Something new');
  });
});

describe('job states in one sentence', () => {
  const job = (state: string, more: Partial<JobRow> = {}): JobRow => ({ id: '7', name: 'emflow-x', state, elapsed: '00:01:21', timeLimit: '00:01:00', source: 'scontrol', ...more });
  it('says why a job ended', () => {
    expect(stateSentence(job('TIMEOUT', { reason: 'TimeLimit' }))).toBe('job 7 hit its time limit (00:01:00) and was stopped by Slurm after 00:01:21: submit it again with a longer --time');
    expect(stateSentence(job('CANCELLED', { cancelledBy: '1000' }))).toBe('job 7 was cancelled (by user id 1000) after 00:01:21');
    expect(stateSentence(job('OUT_OF_MEMORY'))).toBe('job 7 ran out of memory and was killed after 00:01:21: submit it again with more --mem');
    expect(stateSentence(job('FAILED', { exitCode: '1:0', reason: 'NonZeroExitCode' }))).toBe('job 7 failed after 00:01:21: exit code 1');
    expect(stateSentence(job('FAILED', { exitCode: '0:9' }))).toBe('job 7 failed after 00:01:21: killed by signal 9');
    expect(stateSentence(job('NODE_FAIL'))).toBe('job 7 ended because its node failed after 00:01:21: submit it again');
    expect(stateSentence(job('COMPLETED'))).toBe('job 7 completed after 00:01:21');
  });

  it('says why a job waits, and how far a running one is', () => {
    expect(stateSentence(job('PENDING', { reason: 'Resources', elapsed: '0:00' }))).toBe('job 7 is pending: waiting for CPUs or memory to become free');
    expect(stateSentence(job('PENDING', { reason: 'PartitionTimeLimit' }))).toMatch(/will never start/);
    expect(stateSentence(job('RUNNING', { elapsed: '0:12', timeLimit: '10:00' }))).toBe('job 7 is running (0:12 of 10:00)');
  });

  it('knows which states are over and which are failures', () => {
    for (const s of ['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED', 'CANCELLED by 0', 'OUT_OF_MEMORY', 'NODE_FAIL', 'CANCELLED+']) expect(isEnded(s)).toBe(true);
    for (const s of ['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING']) expect(isEnded(s)).toBe(false);
    expect(endedBadly('COMPLETED')).toBe(false);
    expect(endedBadly('TIMEOUT')).toBe(true);
    expect(endedBadly('RUNNING')).toBe(false);
  });
});
