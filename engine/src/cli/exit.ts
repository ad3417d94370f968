// Exit codes and the one-paragraph reports of user mistakes (no stack traces for those).
import { InputFileError } from '../pipeline-file.js';
import { EnvironmentError } from '../runtime/runtime.js';
import { RunError } from '../session/errors.js';
import { ValidationError } from '../validate/problems.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** A mistake in how the command was called. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Print an error the way the CLI reports it and return the exit code it deserves. */
export function reportError(error: unknown): number {
  if (error instanceof UsageError || error instanceof InputFileError) {
    process.stderr.write(`emflow: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof ValidationError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.failed;
  }
  if (error instanceof EnvironmentError) {
    process.stderr.write(`emflow: ${error.message}\n`);
    return EXIT.failed;
  }
  if (error instanceof RunError) {
    process.stderr.write(`emflow: run failed: ${error.message}\n`);
    if (error.failure.stack && process.env.EMFLOW_DEBUG) process.stderr.write(`${error.failure.stack}\n`);
    return EXIT.failed;
  }
  // not a user mistake: an engine bug or environment problem, keep the stack
  process.stderr.write(`emflow: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT.failed;
}
