// emflow jobs: this user's emflow jobs (named emflow-...) from squeue and, where there is accounting, sacct.
import type { Command } from 'commander';
import { accounting, queue, requireSlurm } from '../../hpc/slurm.js';
import { endedBadly, mergeJobs, stateSentence } from '../../hpc/slurm-text.js';
import { slurmAction } from './submit.js';

export function jobsCommand(program: Command): void {
  program
    .command('jobs')
    .description('list your emflow Slurm jobs: pending, running and recently ended, with why one failed')
    .option('--all', 'also ended jobs older than a day (as far back as Slurm accounting goes)')
    .option('--json', 'print the jobs as one JSON object on stdout')
    .action(
      slurmAction(async (flags: { all?: boolean; json?: boolean }) => {
        requireSlurm('squeue');
        const [live, acct] = await Promise.all([queue(), accounting({ since: flags.all ? '1970-01-01T00:00:00' : 'now-1days' })]);
        const note = 'disabled' in acct ? acct.disabled : undefined;
        const jobs = mergeJobs(live, 'rows' in acct ? acct.rows : []).filter((job) => job.name.startsWith('emflow-'));
        const described = jobs.map((job) => ({ ...job, ...(endedBadly(job.state) || job.state === 'PENDING' ? { why: stateSentence(job) } : {}) }));
        if (flags.json) {
          process.stdout.write(JSON.stringify({ accounting: !note, ...(note ? { note } : {}), jobs: described }) + '\n');
          return;
        }
        if (note) process.stderr.write(`emflow: ${note}\n`);
        if (!jobs.length) {
          process.stderr.write('emflow: no emflow jobs\n');
          return;
        }
        const rows = described.map((job) => [job.id, job.name, job.state, job.elapsed, job.why ?? '']);
        const head = ['job', 'name', 'state', 'elapsed', ''];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (r: string[]) =>
          r
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd();
        process.stdout.write([line(head), ...rows.map(line)].join('\n') + '\n');
      }),
    );
}
