// A local child process as an OperatorProcess: used by the process runtime, and by runtimes that run
// operators through a local command (e.g. `apptainer exec`).
import { spawn } from 'node:child_process';
import { LogTail } from './log-tail.js';
import type { ExitInfo, OperatorProcess } from './runtime.js';

export interface SpawnOptions {
  /** working folder (default: the engine's) */
  cwd?: string;
  /**
   * sent first when stopping, before SIGKILL after `stopGraceMs`: for a command that must pass the stop on
   * (srun forwards SIGTERM to its job step; killed outright it would leave the step running)
   */
  stopSignal?: NodeJS.Signals;
  stopGraceMs?: number;
}

export function spawnOperatorProcess(command: string, args: string[], env: NodeJS.ProcessEnv, stop: SpawnOptions = {}): OperatorProcess {
  const child = spawn(command, args, {
    env,
    cwd: stop.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // its own process group: a Ctrl-C on the terminal reaches the engine, which shuts operators down in order
    detached: true,
  });
  const log = new LogTail();
  log.follow(child.stdout, 'stdout');
  log.follow(child.stderr, 'stderr');
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, reason: error.message }));
  });
  return {
    description: `pid ${child.pid}`,
    exited,
    logTail: () => log.text(),
    onLog: (listener) => log.onLine(listener),
    kill: async () => {
      const signal = (name: NodeJS.Signals) => {
        if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
        try {
          process.kill(-child.pid, name); // the whole group, grandchildren included
        } catch {
          child.kill(name);
        }
      };
      if (stop.stopSignal) {
        signal(stop.stopSignal);
        const grace = setTimeout(() => signal('SIGKILL'), stop.stopGraceMs ?? 2000);
        await exited;
        clearTimeout(grace);
        return;
      }
      signal('SIGKILL');
      await exited;
    },
  };
}
