// What a frame leaves behind must go even when this process is killed outright: the engine stops an operator
// that does not answer with SIGKILL on its process group, which a program in a group of its own survives, and
// no exit handler runs. So a small shell, detached from this process, holds the read end of a pipe: when this
// process ends, however it ends, the pipe closes and the shell kills the program's process group and removes
// the frame's scratch folder. Released when the frame has cleaned up after itself.
import { spawn, type ChildProcess } from 'node:child_process';

const SCRIPT = 'read -r group; read -r _; [ -n "$group" ] && kill -KILL -"$group" 2>/dev/null; rm -rf -- "$1"';

export class ExitGuard {
  private readonly shell: ChildProcess;

  constructor(folder: string, env: NodeJS.ProcessEnv) {
    this.shell = spawn('/bin/sh', ['-c', SCRIPT, 'emflow-exit-guard', folder], { detached: true, env, stdio: ['pipe', 'ignore', 'ignore'] });
    this.shell.on('error', () => {}); // no shell: the frame still runs, only unguarded
    this.shell.stdin!.on('error', () => {});
  }

  /** The process group to kill should this process end while it runs. */
  watch(group: number): void {
    this.shell.stdin!.write(`${group}\n`);
  }

  /** The frame cleaned up after itself: the shell goes without doing anything. */
  release(): void {
    this.shell.kill('SIGKILL');
  }
}
