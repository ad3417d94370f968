// Before the multi-node tests: the three test hosts answer `srun -N3 hostname` under their cluster's SLURM_CONF
// (test/infra/hosts.sh brings them up; CI runs it). Otherwise the tests fail, never skip.
import { spawnSync } from 'node:child_process';

export const HOSTS_SLURM_CONF = '/etc/slurm-hosts/slurm.conf';

export default function setup(): void {
  const env = { ...process.env, SLURM_CONF: HOSTS_SLURM_CONF };
  const answer = spawnSync('srun', ['-N3', '-p', 'hosts', '--quiet', 'hostname'], { encoding: 'utf8', env, timeout: 60_000 });
  const names = (answer.stdout ?? '').split('\n').filter(Boolean).sort().join(' ');
  if (answer.status !== 0 || names !== 'emflow-h1 emflow-h2 emflow-h3') {
    throw new Error(`the three test hosts are not up (srun -N3 hostname: ${names || answer.stderr?.trim() || answer.error?.message}): bash test/infra/hosts.sh brings them up; these tests never skip`);
  }
}
