// `--operators DIR` (repeatable) on run, validate and operators: folders of operator folders searched besides
// the built-in operators and $EMFLOW_OPERATORS_PATH. The working directory is never searched implicitly.
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ProcessRuntime } from '../runtime/process.js';
import type { Runtime } from '../runtime/runtime.js';
import { UsageError } from './exit.js';

/** The runtimes --runtime accepts (as createRuntime's; listed here so that the docker client loads only when used). */
const RUNTIMES = ['process', 'docker', 'singularity', 'apptainer'] as const;
type RuntimeName = (typeof RUNTIMES)[number];

/** Commander's collector for a repeatable option. */
export const repeatable = (value: string, all: string[]) => [...all, value];

/** --operators (process runtime) and --images (singularity runtime): where a runtime finds its operators. */
export function addOperatorsOption(command: Command): Command {
  return command
    .option('--operators <dir>', 'also load operators from the operator folders in DIR (repeatable; process runtime)', repeatable, [])
    .option('--images <dir>', 'singularity runtime: the folder of SIF images (default $EMFLOW_IMAGES, or ~/.cache/emflow/sif)');
}

/** --runtime, checked: a usage error names the runtimes there are. */
export function runtimeOption(name: string): RuntimeName {
  if (!(RUNTIMES as readonly string[]).includes(name)) throw new UsageError(`--runtime ${name}: unknown runtime (available: ${RUNTIMES.join(', ')})`);
  return name as RuntimeName;
}

/** The --operators folders as absolute paths; a usage error for a folder that does not exist or another runtime. */
export function operatorDirsOption(dirs: readonly string[], runtime: string): string[] {
  if (dirs.length && runtime !== 'process') throw new UsageError(`--operators applies to the process runtime, not ${runtime}`);
  return dirs.map((dir) => {
    const absolute = resolve(dir);
    if (!statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--operators ${dir}: no such folder (${absolute})`);
    return absolute;
  });
}

/** The runtime a command asked for; the docker client and apptainer are looked for only when that runtime is. */
export async function cliRuntime(name: RuntimeName, operatorDirs: string[], images?: string): Promise<Runtime> {
  if (name === 'process') return new ProcessRuntime({ operatorDirs });
  if (name === 'docker') return new (await import('../runtime/docker.js')).DockerRuntime();
  if (images !== undefined && !statSync(resolve(images), { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--images ${images}: no such folder (${resolve(images)})`);
  return new (await import('../runtime/singularity.js')).SingularityRuntime({ images: images === undefined ? undefined : resolve(images) });
}

/** Does a document name operator folders of its own (so that it needs a runtime of its own)? */
export function namesOperatorDirs(document: unknown): boolean {
  const listed = (document as { operators?: unknown } | null)?.operators;
  return Array.isArray(listed) && listed.length > 0;
}
