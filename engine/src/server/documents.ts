// The served folder of pipeline documents: list, read and save them by name. Names are plain file names
// (no folders, no leading dot); a symbolic link or anything but a regular file is never read or written
// through, so the browser reaches nothing outside the folder.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewFile } from '@emflow/formats';
import { InputFileError, loadPipeline } from '../pipeline-file.js';

/** A document name as the API takes it: the file name without `.json`. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9 _.-]{0,99}$/;

export class DocumentNameError extends Error {
  override name = 'DocumentNameError';
}

/** A document that cannot be saved where it is asked to be (a link, a folder, no permission): nothing was written. */
export class DocumentWriteError extends Error {
  override name = 'DocumentWriteError';
}

export interface DocumentEntry {
  name: string;
  title?: string;
  description?: string;
}

export function documentFileName(name: string): string {
  const bare = name.endsWith('.json') ? name.slice(0, -'.json'.length) : name;
  if (!NAME.test(bare) || bare.endsWith('.')) {
    throw new DocumentNameError(`"${name.slice(0, 80)}" is not a document name: letters, digits, space, _ . - (up to 100, not starting with . or -)`);
  }
  return `${bare}.json`;
}

const isRegularFile = (path: string) => lstatSync(path, { throwIfNoEntry: false })?.isFile() === true;
/** Larger files are listed without reading them for a title: a listing must stay quick whatever the folder holds. */
const TITLE_READ_LIMIT = 1024 * 1024;

export class DocumentFolder {
  constructor(readonly folder: string) {}

  /** The documents in the folder, sorted by name; a file that is not a readable pipeline is listed without a title. */
  async list(): Promise<DocumentEntry[]> {
    const names = readdirSync(this.folder).filter((file) => file.endsWith('.json') && NAME.test(file.slice(0, -5)) && isRegularFile(join(this.folder, file)));
    const entries = await Promise.all(
      names.sort().map(async (file): Promise<DocumentEntry> => {
        const name = file.slice(0, -5);
        if ((lstatSync(join(this.folder, file), { throwIfNoEntry: false })?.size ?? 0) > TITLE_READ_LIMIT) return { name };
        try {
          const document = (await loadPipeline(join(this.folder, file))) as { name?: unknown; description?: unknown };
          return { name, title: typeof document?.name === 'string' ? document.name : undefined, description: typeof document?.description === 'string' ? document.description : undefined };
        } catch {
          return { name };
        }
      }),
    );
    return entries;
  }

  /** The parsed document (InputFileError when missing, not a regular file, or not JSON). */
  async read(name: string): Promise<unknown> {
    const file = documentFileName(name);
    const path = join(this.folder, file);
    if (!isRegularFile(path)) throw new InputFileError(`${file}: no such document in ${this.folder}`);
    return loadPipeline(path);
  }

  /** Save (replace) a document; written to a temporary file renamed over the old one, never through a link. */
  write(name: string, document: unknown): string {
    const file = documentFileName(name);
    try {
      writeNewFile(join(this.folder, file), Buffer.from(JSON.stringify(document, null, 2) + '\n'), true);
    } catch (error) {
      throw new DocumentWriteError(`cannot save ${file}: ${(error as Error).message}`);
    }
    return file.slice(0, -5);
  }
}
