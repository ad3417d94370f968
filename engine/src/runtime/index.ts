// Choosing a runtime by name.
import { DockerRuntime } from './docker.js';
import { ProcessRuntime, type ProcessRuntimeOptions } from './process.js';
import type { Runtime } from './runtime.js';

export const RUNTIMES = ['process', 'docker'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export type RuntimeOptions = ProcessRuntimeOptions;

export function createRuntime(name: string, options: RuntimeOptions = {}): Runtime {
  switch (name) {
    case 'process':
      return new ProcessRuntime(options);
    case 'docker':
      return new DockerRuntime();
    default:
      throw new RangeError(`unknown runtime "${name}" (available: ${RUNTIMES.join(', ')})`);
  }
}
