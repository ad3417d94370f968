// emflow logs JOB: a Slurm job's output (the run's progress lines), its report as the run's table, and why it
// ended when it did not complete (time limit, cancelled, out of memory, ...).
import type { Command } from 'commander';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastReport, operatorsFromLog, reportTable, withoutReport, type LoggedReport } from '../../hpc/run-log.js';
import { findJob, requireSlurm } from '../../hpc/slurm.js';
import { endedBadly, isEnded, stateSentence, type JobRow } from '../../hpc/slurm-text.js';
import { EXIT, UsageError } from '../exit.js';
import { slurmAction } from './submit.js';

/** StdOut as scontrol shows it; older versions show the --output pattern unexpanded. */
const expandLogPath = (path: string, job: JobRow) => path.replace(/%(%|j|A|x)/g, (_, c: string) => (c === '%' ? '%' : c === 'x' ? job.name : job.id));

function readFrom(path: string, offset: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    if (size <= offset) return Buffer.alloc(0);
    const bytes = Buffer.alloc(size - offset);
    const n = readSync(fd, bytes, 0, bytes.length, offset);
    return bytes.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const exists = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() === true;
const isReportLine = (line: string) => lastReport(line) !== undefined;

export function logsCommand(program: Command): void {
  program
    .command('logs')
    .description("show a Slurm job's log: the run's progress, its report as a table, and why the job ended if it failed")
    .argument('<job>', 'job id (as emflow submit and emflow jobs print)')
    .option('-f, --follow', 'keep printing the log as it grows until the job ends')
    .option('--json', 'print the job, its log file and the run report as one JSON object on stdout')
    .addHelpText('after', '\nExit status: 0 the job completed or has not ended yet, 1 it failed, timed out, was cancelled, or is unknown.')
    .action(
      slurmAction(async (id: string, flags: { follow?: boolean; json?: boolean }) => {
        if (!/^\d+$/.test(id)) throw new UsageError(`${id}: expected a Slurm job id (a number, as emflow submit and emflow jobs print)`);
        requireSlurm('scontrol');
        const found = await findJob(id);
        let job = found.job;
        const log = found.stdout ? expandLogPath(found.stdout, job) : undefined;

        if (flags.follow && !isEnded(job.state)) {
          let said = '';
          let offset = 0;
          let partial = '';
          let failures = 0;
          const drain = () => {
            if (!log || !exists(log)) return;
            const bytes = readFrom(log, offset);
            offset += bytes.length;
            const lines = (partial + bytes.toString('utf8')).split('\n');
            partial = lines.pop()!;
            for (const line of lines) if (!isReportLine(line)) process.stdout.write(line + '\n');
          };
          for (let tick = 0; ; tick++) {
            drain();
            if (tick % 4 === 0) {
              try {
                job = (await findJob(id)).job;
                failures = 0;
              } catch (error) {
                // slurmctld busy or restarting: keep following a while, then say why not
                if (++failures >= 30) throw error;
              }
              if (isEnded(job.state)) break;
              const sentence = job.state === 'PENDING' ? stateSentence(job) : '';
              if (sentence !== said && sentence) process.stderr.write(`emflow: ${sentence}\n`);
              said = sentence;
            }
            await sleep(500);
          }
          await sleep(500); // slurmstepd's last words (e.g. "CANCELLED ... DUE TO TIME LIMIT") follow the state
          drain();
          if (partial && !isReportLine(partial)) process.stdout.write(partial + '\n');
          const text = log && exists(log) ? readFrom(log, 0).toString('utf8') : '';
          finish(job, log, text, flags.json === true, false);
          return;
        }

        const text = log && exists(log) ? readFrom(log, 0).toString('utf8') : undefined;
        finish(job, log, text, flags.json === true, true);
      }),
    );
}

/** Print (unless already followed) the log, then the report's table and the job's state; set the exit status. */
function finish(job: JobRow, log: string | undefined, text: string | undefined, json: boolean, printLog: boolean): void {
  const found = text === undefined ? undefined : lastReport(text);
  const report: LoggedReport | undefined = found?.report;
  const why = endedBadly(job.state) || !isEnded(job.state) ? stateSentence(job) : undefined;
  if (endedBadly(job.state) || (isEnded(job.state) && report && !report.ok)) process.exitCode = EXIT.failed;
  if (json) {
    process.stdout.write(JSON.stringify({ job, log: log ?? null, report: report ?? null, ...(why ? { why } : {}) }) + '\n');
    return;
  }
  if (printLog && text !== undefined) {
    const shown = withoutReport(text);
    process.stdout.write(shown.endsWith('\n') || !shown ? shown : shown + '\n');
  }
  if (report) process.stdout.write(`${printLog || text ? '\n' : ''}${reportTable(report, operatorsFromLog(text ?? ''))}\n`);
  if (!log) process.stderr.write(`emflow: Slurm no longer knows job ${job.id}'s log file (it is emflow-${job.id}.log in the --out folder it was submitted with)\n`);
  else if (text === undefined && job.state !== 'PENDING') process.stderr.write(`emflow: ${isEnded(job.state) ? 'the log file is gone' : 'no log file yet'}: ${log}\n`);
  if (why) process.stderr.write(`emflow: ${why}\n`);
  else if (isEnded(job.state) && !report && text !== undefined) process.stderr.write(`emflow: job ${job.id} ${job.state.toLowerCase()}, but its log has no report from emflow run\n`);
}
