// Choosing a runtime by name.
import { DockerRuntime } from './docker.js';
import { ProcessRuntime, type ProcessRuntimeOptions } from './process.js';
import type { Runtime } from './runtime.js';
import { SingularityRuntime } from './singularity.js';

/** `apptainer` is another name of `singularity`. */
export const RUNTIMES = ['process', 'docker', 'singularity', 'apptainer'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface RuntimeOptions extends ProcessRuntimeOptions {
  /** singularity: the folder of SIF images */
  images?: string;
}

export function createRuntime(name: string, options: RuntimeOptions = {}): Runtime {
  switch (name) {
    case 'process':
      return new ProcessRuntime(options);
    case 'docker':
      return new DockerRuntime();
    case 'singularity':
    case 'apptainer':
      return new SingularityRuntime({ images: options.images });
    default:
      throw new RangeError(`unknown runtime "${name}" (available: ${RUNTIMES.join(', ')})`);
  }
}
