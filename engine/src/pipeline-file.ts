// Reading pipeline documents from disk, with errors that name the file and the place in it.
//
// Beyond being JSON, a document must be something the engine can hold safely: nested at most MAX_DEPTH levels
// (checked on the text, before any parser recurses), numbers that fit a double (JSON.parse would turn 1e400
// into Infinity, which then validates as "null"), and no key twice in one object (JSON.parse keeps the last,
// silently). A leading byte-order mark, as some editors write, is skipped.
import { readFile } from 'node:fs/promises';
import { parse as parseTolerant, printParseErrorCode, visit, type JSONPath, type ParseError } from 'jsonc-parser';
import { MAX_DEPTH } from './validate/json-value.js';
import { clip, pointer, quote } from './validate/problems.js';
import { checkRegularFile, NotARegularFileError } from '@emflow/sdk';

/** A user mistake in an input file (unreadable, not JSON): reported as one line, no stack. */
export class InputFileError extends Error {
  override name = 'InputFileError';
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** What is wrong with a JSON text, and where: JSON.parse's own messages carry no reliable position. */
function describeJsonError(text: string): string {
  const errors: ParseError[] = [];
  parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return 'not valid JSON';
  const what = printParseErrorCode(first.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return `not valid JSON at ${lineColumn(text, first.offset)}: ${what}`;
}

/** Offset of the first `[` or `{` nested deeper than `limit`, or -1. Strings are skipped; the text need not be JSON. */
function tooDeep(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // to the closing quote: one not preceded by an odd number of backslashes
      for (let end = text.indexOf('"', i + 1); ; end = text.indexOf('"', end + 1)) {
        if (end < 0) return -1; // unterminated: JSON.parse says where
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) {
          i = end;
          break;
        }
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return -1;
}

/** What JSON.parse accepts but a document must not hold: a number beyond a double's range, a key twice in one object. */
function unsafeJson(text: string): string | undefined {
  let found: string | undefined;
  const keys: Set<string>[] = [];
  const at = (path: JSONPath, offset: number) => `${pointer(...path) || '/'} (${lineColumn(text, offset)})`;
  visit(
    text,
    {
      onObjectBegin: () => void keys.push(new Set()),
      onObjectEnd: () => void keys.pop(),
      onObjectProperty(property, offset, _length, _line, _column, path) {
        const seen = keys[keys.length - 1];
        if (found === undefined && seen.has(property)) found = `${at([...path(), property], offset)}: key ${quote(property)} appears twice in one object`;
        seen.add(property);
      },
      onLiteralValue(value, offset, length, _line, _column, path) {
        if (found === undefined && typeof value === 'number' && !Number.isFinite(value)) {
          found = `${at(path(), offset)}: number ${clip(text.slice(offset, offset + Math.min(length, 100)))} is out of range (at most ±${Number.MAX_VALUE})`;
        }
      },
    },
    { disallowComments: true },
  );
  return found;
}

export function parseJsonDocument(text: string, file: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const deep = tooDeep(text, MAX_DEPTH);
  if (deep >= 0) throw new InputFileError(`${file}: nested deeper than ${MAX_DEPTH} levels at ${lineColumn(text, deep)} (arrays and objects may nest ${MAX_DEPTH} levels)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputFileError(`${file}: ${describeJsonError(text)}`);
  }
  const unsafe = unsafeJson(text);
  if (unsafe) throw new InputFileError(`${file}: ${unsafe}`);
  return value;
}

export async function loadPipeline(file: string): Promise<unknown> {
  let text: string;
  try {
    // a FIFO, a device, a folder or a /proc file is refused before reading (the read could block or never end)
    checkRegularFile(file, 'a pipeline file');
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof NotARegularFileError) throw new InputFileError(`${file}: cannot read pipeline: ${error.reason}`);
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new InputFileError(`${file}: cannot read pipeline: ${why}`);
  }
  return parseJsonDocument(text, file);
}
