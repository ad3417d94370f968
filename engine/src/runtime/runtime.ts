// The Runtime interface: how operators are found and started. The process, docker and singularity runtimes
// implement it; everything else in the engine (sessions, scheduler, CLI) only talks to this interface.
import type { OperatorSpec } from '@emflow/sdk';

/** An operator a runtime can start. */
export interface OperatorInfo {
  spec: OperatorSpec;
  /** what identifies this exact build: a source hash (process) or an image digest (containers); part of cache keys */
  identity: string;
  /** where it lives: an operator folder or an image reference */
  location: string;
  /** other names a pipeline may use for it, e.g. image references such as emflow/scale:1.0.0 */
  aliases?: string[];
}

/** An operator that could not be loaded, reported by `emflow operators`. */
export interface OperatorProblem {
  location: string;
  message: string;
}

export interface OperatorCatalog {
  operators: OperatorInfo[];
  problems: OperatorProblem[];
  /** names that several operators claim: none of them is in `operators`, and a pipeline may not use the name */
  conflicts?: { name: string; locations: string[] }[];
}

export interface SessionPaths {
  id: string;
  /** session directory on the host: slot files and the control socket */
  dir: string;
  /** the control socket inside `dir` */
  socket: string;
}

export interface StartRequest {
  node: string;
  operator: OperatorInfo;
  session: SessionPaths;
  /** the token the operator presents in `hello` */
  token: string;
  /** the node's params (defaults filled in, paths absolute): container runtimes mount the paths they name */
  params: Record<string, unknown>;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** runtime-specific detail, e.g. "OOMKilled" */
  reason?: string;
}

/** A started operator (a process or a container) as the session sees it. */
export interface OperatorProcess {
  /** e.g. "pid 4242" or "container 3f2a…" */
  readonly description: string;
  /** resolves when it has exited, whatever the reason */
  readonly exited: Promise<ExitInfo>;
  /** the last lines it wrote to stdout/stderr */
  logTail(): string;
  onLog(listener: (line: string, stream: 'stdout' | 'stderr') => void): void;
  /** stop it now (no grace); resolves once it has exited */
  kill(): Promise<void>;
  /**
   * stop it before this process exits, synchronously (the process `exit` hook cannot wait for a promise);
   * without it, `kill()` is started and the operator goes when its control socket closes
   */
  killSync?(): void;
}

export interface Runtime {
  readonly name: string;
  /** owner to give the session directory and slot files, when operators run as another user */
  readonly fileOwner?: { uid: number; gid: number };
  /** every operator this runtime can start, without starting any */
  catalog(): Promise<OperatorCatalog>;
  start(request: StartRequest): Promise<OperatorProcess>;
  /** true when a started operator cannot serve these new params (e.g. a container lacks the mounts they need) */
  needsRestart?(operator: OperatorInfo, before: Record<string, unknown>, after: Record<string, unknown>): boolean;
}

/** What this machine lacks for a runtime (a daemon, a binary) or refused to build: told in one paragraph, no stack. */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

/**
 * Its last lines for an error report. What it wrote just before it answered or exited can be waiting, unread, in
 * this turn of the event loop (when the kernel lists the control socket first), so that turn is finished first.
 */
export async function lastOutput(process: OperatorProcess): Promise<string> {
  await new Promise((resolve) => setImmediate(resolve));
  return process.logTail();
}

export function describeExit(exit: ExitInfo): string {
  // no status to tell (a container the daemon lost, an operator whose host went away): the reason alone
  if (exit.code === null && exit.signal === null && exit.reason) return exit.reason;
  const base = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const hint = exit.signal === 'SIGSEGV' ? ' (a segmentation fault: did it write into an input frame? input frames are read-only)' : '';
  return `${base}${exit.reason ? ` (${exit.reason})` : ''}${hint}`;
}

/** Looks up operator names for validation: the spec, or why the name cannot be used (several operators claim it). */
export function catalogLookup(catalog: OperatorCatalog): (name: string) => OperatorSpec | string | undefined {
  return (name) => {
    const conflict = catalog.conflicts?.find((c) => c.name === name);
    if (conflict) return conflictMessage(conflict.name, conflict.locations);
    return findOperator(catalog, name)?.spec;
  };
}

/** Why a name several operators claim cannot be used. */
export function conflictMessage(name: string, locations: readonly string[]): string {
  const places = locations.length > 2 ? `${locations.slice(0, -1).join(', ')} and ${locations.at(-1)}` : locations.join(' and ');
  return `operator "${name}" is defined in more than one place: ${places} (rename one, or leave its folder off the search path)`;
}

/** The operator a pipeline names: by spec name, or by one of its aliases (an image reference). */
export function findOperator(catalog: OperatorCatalog, name: string): OperatorInfo | undefined {
  return catalog.operators.find((o) => o.spec.name === name) ?? catalog.operators.find((o) => o.aliases?.includes(name));
}
