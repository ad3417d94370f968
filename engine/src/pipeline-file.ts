// Reading pipeline documents from disk, with errors that name the file and the place in it.
import { readFile } from 'node:fs/promises';
import { parse as parseTolerant, printParseErrorCode, type ParseError } from 'jsonc-parser';
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

export function parseJsonDocument(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InputFileError(`${file}: ${describeJsonError(text)}`);
  }
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
