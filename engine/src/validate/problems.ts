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

/** Longest excerpt of a document's own text a message quotes: a hostile document may hold megabytes in one name. */
export const MAX_QUOTE = 80;

/** `text` cut to `max` characters, ending in … when cut. */
export function clip(text: string, max = MAX_QUOTE): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as a message quotes it: JSON (strings in double quotes, newlines escaped: one line), at most MAX_QUOTE characters. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return clip(JSON.stringify(value.length > MAX_QUOTE ? value.slice(0, MAX_QUOTE) : value));
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // cyclic, or a BigInt: not JSON anyway
  }
  return clip(text ?? String(value));
}

/**
 * One JSON-pointer segment. For display as much as for machines: a segment longer than MAX_QUOTE is cut (…),
 * and control characters are escaped (\uXXXX), so that a problem always fits on one line.
 */
export function escapePointer(segment: string | number): string {
  if (typeof segment === 'number') return String(segment);
  const text = segment;
  if (text.length <= MAX_QUOTE && /^[\w.-]*$/.test(text)) return text;
  const escaped = (text.length > MAX_QUOTE ? text.slice(0, MAX_QUOTE + 1) : text)
    .replace(/~/g, '~0')
    .replace(/\//g, '~1')
    .replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clip(escaped);
}

export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + escapePointer(s)).join('');
}

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
        problems.push({ pointer: `${at}/${escapePointer(name)}`, message: describeUnknown ? describeUnknown(name) : `unknown field ${quote(name)}` });
        break;
      }
      case 'type':
        problems.push({ pointer: at, message: `expected ${params.type}, got ${quote(error.data)}` });
        break;
      case 'enum':
        problems.push({ pointer: at, message: `expected one of ${(params.allowedValues as unknown[]).map((v) => quote(v)).join(', ')}; got ${quote(error.data)}` });
        break;
      case 'const':
        problems.push({ pointer: at, message: `expected ${quote(params.allowedValue)}, got ${quote(error.data)}` });
        break;
      case 'pattern':
        problems.push({ pointer: at, message: `${quote(error.data)} does not match ${params.pattern}` });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        problems.push({ pointer: at, message: `expected a value ${params.comparison} ${params.limit}, got ${quote(error.data)}` });
        break;
      case 'if':
      case 'anyOf':
        break; // the branch errors say what is wrong
      default:
        problems.push({ pointer: at, message: `${error.message ?? error.keyword}${error.data !== undefined ? `, got ${quote(error.data)}` : ''}` });
    }
  }
  return problems;
}
