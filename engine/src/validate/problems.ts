// A validation problem names where (a JSON pointer into the document) and what was expected.
import type { ErrorObject } from 'ajv';

export interface Problem {
  pointer: string;
  message: string;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('\n');
}

/** A document that failed validation: the message lists every problem, one per line. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    readonly problems: readonly Problem[],
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${problems.length} problem${problems.length === 1 ? '' : 's'}\n${formatProblems(problems)}`);
  }
}

export function escapePointer(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + escapePointer(s)).join('');
}

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value));

/** Ajv errors (verbose mode) as problems, with pointers relative to `base`. */
export function problemsFromAjv(errors: readonly ErrorObject[] | null | undefined, base = '', describeUnknown?: (name: string) => string): Problem[] {
  const problems: Problem[] = [];
  for (const error of errors ?? []) {
    const at = base + error.instancePath;
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'required':
        problems.push({ pointer: at, message: `missing required field "${params.missingProperty}"` });
        break;
      case 'additionalProperties': {
        const name = String(params.additionalProperty);
        problems.push({ pointer: `${at}/${escapePointer(name)}`, message: describeUnknown ? describeUnknown(name) : `unknown field "${name}"` });
        break;
      }
      case 'type':
        problems.push({ pointer: at, message: `expected ${params.type}, got ${show(error.data)}` });
        break;
      case 'enum':
        problems.push({ pointer: at, message: `expected one of ${(params.allowedValues as unknown[]).map(show).join(', ')}; got ${show(error.data)}` });
        break;
      case 'const':
        problems.push({ pointer: at, message: `expected ${show(params.allowedValue)}, got ${show(error.data)}` });
        break;
      case 'pattern':
        problems.push({ pointer: at, message: `${show(error.data)} does not match ${params.pattern}` });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        problems.push({ pointer: at, message: `expected a value ${params.comparison} ${params.limit}, got ${show(error.data)}` });
        break;
      case 'if':
      case 'anyOf':
        break; // the branch errors say what is wrong
      default:
        problems.push({ pointer: at, message: `${error.message ?? error.keyword}${error.data !== undefined ? `, got ${show(error.data)}` : ''}` });
    }
  }
  return problems;
}
