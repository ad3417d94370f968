// Before the Slurm tests: Slurm's commands are on PATH and the controller answers with an idle or mixed node in
// partition `debug` (test/infra/slurm.sh sets that up; CI runs it). Otherwise the tests fail, never skip.
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  for (const command of ['sbatch', 'squeue', 'scontrol', 'sinfo', 'scancel']) {
    const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    if (found.status !== 0) throw new Error(`${command} is not on PATH: bash test/infra/slurm.sh installs and starts Slurm (CI runs it); these tests never skip`);
  }
  const sinfo = spawnSync('sinfo', ['--noheader', '--partition=debug', '--format=%P %a %T %c %m'], { encoding: 'utf8', timeout: 30_000 });
  if (sinfo.status !== 0) throw new Error(`sinfo failed (is slurmctld running? bash test/infra/slurm.sh starts it): ${sinfo.stderr.trim()}`);
  if (!/^debug\*?\s+up\s+(idle|mixed|allocated|completing)/m.test(sinfo.stdout)) {
    throw new Error(`partition debug has no usable node (sinfo: ${sinfo.stdout.trim() || 'nothing'}); bash test/infra/slurm.sh starts slurmd`);
  }
}
