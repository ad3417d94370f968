// The floor of a cold start on this machine, measured in the same run: 8 bare starts of what an operator start is
// built on (a Node process; a container of the operator's image running Node), in parallel and one after another.
// No emflow code runs in them, so what their ratio leaves over 1 / cores is the machine's (or the daemon's).
import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import { ownerLabels } from '../runtime/docker.js';
import { median } from '../session/run.js';

export interface StartFloor {
  what: string;
  parallelMs: number;
  sequentialMs: number;
  ratio: number;
}

async function floorOf(what: string, count: number, trials: number, startOne: () => Promise<void>): Promise<StartFloor> {
  await startOne(); // the files in the page cache, as for the starts it is compared with
  const parallel: number[] = [];
  const sequential: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    let started = performance.now();
    await Promise.all(Array.from({ length: count }, startOne));
    parallel.push(performance.now() - started);
    started = performance.now();
    for (let i = 0; i < count; i++) await startOne();
    sequential.push(performance.now() - started);
  }
  const [parallelMs, sequentialMs] = [median(parallel), median(sequential)];
  return { what, parallelMs, sequentialMs, ratio: parallelMs / sequentialMs };
}

/** `node -e 0` as a child process, waited for. */
export function processStartFloor(count: number, trials: number): Promise<StartFloor> {
  const startOne = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`bare node -e 0 ended with ${signal ?? code}`))));
    });
  return floorOf(`${count} bare Node processes (node -e 0)`, count, trials, startOne);
}

/** A container of `image` running `node -e 0` (no network, read-only root, no capabilities), created, started, waited for and removed. */
export function containerStartFloor(docker: Docker, image: string, count: number, trials: number): Promise<StartFloor> {
  const startOne = async () => {
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ['node'],
      Cmd: ['-e', '0'],
      Labels: ownerLabels('bench-floor'), // swept like an operator's container if this process dies
      HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
    });
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) throw new Error(`a bare container of ${image} (node -e 0) exited with ${StatusCode}`);
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  };
  return floorOf(`${count} bare containers of ${image} (node -e 0)`, count, trials, startOne);
}
