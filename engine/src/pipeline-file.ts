// Reading pipeline documents from disk, with errors that name the file and the place in it.
import { readFile } from 'node:fs/promises';

/** A user mistake in an input file (unreadable, not JSON): reported as one line, no stack. */
export class InputFileError extends Error {
  override name = 'InputFileError';
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

export function parseJsonDocument(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    const where = position ? ` at ${lineColumn(text, Number(position[1]))}` : '';
    throw new InputFileError(`${file}: not valid JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

export async function loadPipeline(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new InputFileError(`${file}: cannot read pipeline: ${why}`);
  }
  return parseJsonDocument(text, file);
}
