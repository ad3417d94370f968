// Choosing a runtime by name.
import { ProcessRuntime, type ProcessRuntimeOptions } from './process.js';
import type { Runtime } from './runtime.js';

export const RUNTIMES = ['process'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export type RuntimeOptions = ProcessRuntimeOptions;

export function createRuntime(name: string, options: RuntimeOptions = {}): Runtime {
  switch (name) {
    case 'process':
      return new ProcessRuntime(options);
    default:
      throw new RangeError(`unknown runtime "${name}" (available: ${RUNTIMES.join(', ')})`);
  }
}
