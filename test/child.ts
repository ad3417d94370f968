// Running a piece of a test in a child Node process: as an unprivileged user, for the permission cases (root may
// read and write anything, so as root, as in CI, the child runs as nobody through setpriv), or just apart, for code
// that might block its process for good.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const isRoot = process.getuid?.() === 0;
/** The user ("nobody") whose rights the permission cases run with when the tests run as root. */
export const NOBODY = 65534;

/** A compiled module for `await import(…)` in a child: its file URL as a string literal. */
export const importable = (path: string) => JSON.stringify(pathToFileURL(path).href);

/** The first folder above the compiled packages that another user cannot pass through, if any. */
function closedFolderAbove(path: string): string | undefined {
  for (let folder = path; ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return folder;
    if (folder === dirname(folder)) return undefined;
  }
}

export interface ChildOutcome {
  /** what the body returned (through JSON) */
  value?: unknown;
  /** the message of what it threw */
  error?: string;
  /** and its name */
  name?: string;
}

/**
 * Run `body` (the body of an async function, ES module syntax, e.g. `const m = await import(…); return m.f(1)`)
 * in a child process, as nobody when `unprivileged` and the tests run as root. A child that does not finish
 * within `timeoutMs` is killed and reported as an error (a test that would hang fails instead).
 */
export function runInChild(body: string, { unprivileged = false, timeoutMs = 20_000 } = {}): ChildOutcome {
  const script = `
    try {
      const value = await (async () => { ${body} })();
      process.stdout.write(JSON.stringify({ value: value ?? null }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: error.message, name: error.name }));
    }`;
  const repository = fileURLToPath(new URL('..', import.meta.url));
  const closed = unprivileged && isRoot ? closedFolderAbove(repository) : undefined;
  if (closed) throw new Error(`the permission tests run as uid ${NOBODY}, which cannot enter ${closed} to load ${repository}: chmod o+x it, or work in a folder others can enter`);
  const node = [process.execPath, '--input-type=module', '-e', script];
  const command = unprivileged && isRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...node] : node;
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  if (result.error || result.status !== 0) {
    const why = result.signal ? `was killed by ${result.signal}${result.signal === 'SIGTERM' ? ` after ${timeoutMs} ms` : ''}` : `exited with ${result.status ?? result.error?.message}`;
    throw new Error(`the child process ${why}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as ChildOutcome;
}
