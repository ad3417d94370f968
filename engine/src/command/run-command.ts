// Running one frame's program: in a scratch folder of its own, in a process group of its own (so that a
// timeout or a cancel kills whatever it started), its stdout passed on to the operator's log as it comes and
// the last lines of its stderr kept, for the error or the log once it has ended.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LogTail } from '../runtime/log-tail.js';
import { ExitGuard } from './exit-guard.js';

/** Lines of stderr an error quotes. */
const STDERR_TAIL_LINES = 20;
/** After the program exits, how long a process it left holding its stdout or stderr may keep them open. */
const STDIO_GRACE_MS = 1000;

export interface CommandRun {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** written to the program's standard input; without it, stdin is empty */
  stdin?: string;
  timeoutMs: number;
  /** aborted: the program is killed, and the run ends as 'aborted' */
  signal: AbortSignal;
  guard: ExitGuard;
}

export type Ending =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'unstartable'; reason: string };

export interface CommandOutcome {
  ending: Ending;
  /** the last STDERR_TAIL_LINES lines of its stderr */
  stderrTail: string;
}

/** The whole process group of `pid`; it may be gone already. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // nothing left of it
  }
}

function unstartable(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no such program (neither a path nor on the PATH)';
  if (error.code === 'EACCES') return 'permission denied (not executable?)';
  return error.message;
}

/** Run a program to its end, its timeout or the abort of `signal`; whatever it started is killed by then. */
export function runCommand(run: CommandRun): Promise<CommandOutcome> {
  const [program, ...args] = run.argv;
  const child = spawn(program, args, { cwd: run.cwd, env: run.env, detached: true, stdio: [run.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const [stdout, stderr] = [child.stdout!, child.stderr!];
  const tail = new LogTail(STDERR_TAIL_LINES);
  tail.follow(stderr, 'stderr');
  stdout.pipe(process.stdout, { end: false });
  if (child.pid !== undefined) run.guard.watch(child.pid);
  if (run.stdin !== undefined) {
    child.stdin!.on('error', () => {}); // a program that does not read its input closes the pipe early
    child.stdin!.end(run.stdin);
  }

  return new Promise((resolve) => {
    let ending: Ending | undefined;
    const end = (how: Ending) => {
      ending ??= how;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => end({ kind: 'timeout' }), run.timeoutMs);
    const abort = () => end({ kind: 'aborted' });
    run.signal.addEventListener('abort', abort, { once: true });
    if (run.signal.aborted) abort();
    const finish = () => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', abort);
      resolve({ ending: ending!, stderrTail: tail.text() });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a failed kill or write: the exit still comes
      ending = { kind: 'unstartable', reason: unstartable(error) };
      finish();
    });
    child.once('exit', (code, signal) => {
      end(code !== null ? { kind: 'exit', code } : { kind: 'signal', signal: signal! });
      // what it started in the background is gone now (killGroup), but a process outside its group could still
      // hold its output open: do not wait for that
      setTimeout(() => {
        stdout.destroy();
        stderr.destroy();
      }, STDIO_GRACE_MS).unref();
    });
    child.once('close', finish);
  });
}

/**
 * `use` a new scratch folder (mode 0700, under `root`): removed when `use` settles, whatever happened, and by
 * the exit guard should this process end first.
 */
export async function inScratchFolder<T>(root: string, prefix: string, env: NodeJS.ProcessEnv, use: (folder: string, guard: ExitGuard) => Promise<T>): Promise<T> {
  let folder: string;
  try {
    folder = mkdtempSync(join(root, prefix));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new Error(`cannot make a scratch folder in ${root}: ${reason}`, { cause: error });
  }
  const guard = new ExitGuard(folder, env);
  try {
    return await use(folder, guard);
  } finally {
    try {
      removeScratch(folder);
    } finally {
      guard.release();
    }
  }
}

/**
 * Remove a scratch folder the program may have left read-only parts in (a folder of mode 0500 cannot be emptied
 * by its owner): its folders are made writable first. A failure is logged, never the frame's outcome.
 */
function removeScratch(folder: string): void {
  const writable = (dir: string) => {
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) writable(join(dir, entry.name));
  };
  try {
    rmSync(folder, { recursive: true, force: true });
  } catch {
    try {
      writable(folder);
      rmSync(folder, { recursive: true, force: true });
    } catch (error) {
      process.stderr.write(`emflow-command: could not remove the scratch folder ${folder}: ${(error as Error).message}\n`);
    }
  }
}
