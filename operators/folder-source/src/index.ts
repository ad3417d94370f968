import { extname, join } from 'node:path';
import picomatch from 'picomatch';
import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { FRAME_FILE_EXTENSIONS, readFrameFile } from '@emflow/formats';
import { fileImages, imageCount, type Allocate } from './file-images.js';
import { byName, checkFolder, listMatchingFiles } from './folder-listing.js';
import { appendRecord, NOTHING_SKIPPED, readSkipList } from './resume-files.js';
import { watchFolder } from './watch.js';

interface Params {
  folder: string;
  pattern: string;
  watch: boolean;
  interval: number;
  stableTime: number;
  doneMarker?: string;
  idleTimeout: number;
  skip?: string;
  record?: string;
}

async function readFrames(path: string): Promise<NDArray[]> {
  try {
    return await readFrameFile(path);
  } catch (error) {
    throw new Error(`folder-source: ${(error as Error).message}`, { cause: error });
  }
}

@operator({
  name: 'folder-source',
  version: '1.1.0',
  description:
    'Emits the images in the files of a folder whose names match a glob, in name order: .mrc/.map/.mrcs/.st/.rec, .tif/.tiff and .npy ' +
    '(a volume or stack gives one image per section). With `watch`, follows an acquisition: emits each file once it is complete, in the ' +
    'order files complete (name order among those found complete at one check), until the pipeline stops, a done marker file appears or ' +
    'the folder stays idle. `skip` and `record` let `emflow run --resume` go on where a run stopped.',
  outputs: {
    image: { type: 'image2d', description: 'one [y, x] image per 2-D array or section; meta: source (file path), file (index), section, frame (index), pixelSize' },
  },
  params: {
    folder: { type: 'string', path: 'read', description: 'folder to read' },
    pattern: { type: 'string', default: '*', description: 'glob matched against file names (not paths), e.g. "*.mrc" or "mic-*.tif"; hidden files only if it says so' },
    watch: {
      type: 'boolean',
      default: false,
      description:
        'follow an acquisition: keep checking for new files until the pipeline stops, `doneMarker` appears or `idleTimeout` passes; a file is read once its size and mtime stayed the same over two consecutive checks (and `stableTime`) and it decodes completely',
    },
    interval: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 500, units: 'ms', description: 'time between checks of the folder when watching' },
    stableTime: {
      type: 'integer',
      minimum: 0,
      maximum: 86_400_000,
      default: 0,
      units: 'ms',
      description: 'when watching, how long a file must stay unchanged before it is read (at least one check interval); for writers that pause longer than that mid-file in formats that do not declare their size',
    },
    doneMarker: {
      type: 'string',
      optional: true,
      description: 'when watching, a file name (e.g. ACQUISITION_DONE) whose appearance in the folder ends the stream once every file there has been emitted; it is never read as data',
    },
    idleTimeout: {
      type: 'integer',
      minimum: 0,
      maximum: 2_147_483_647,
      default: 0,
      units: 'ms',
      description: 'when watching, end the stream once no file has appeared or changed for this long and every file has been emitted (0: never)',
    },
    skip: {
      type: 'string',
      optional: true,
      path: 'read',
      description: 'JSON-lines file of files processed by an earlier run ({"path", "frames"} per line): not emitted again; frame and file numbers go on after them (set by emflow run --resume)',
    },
    record: {
      type: 'string',
      optional: true,
      path: 'write',
      description: 'JSON-lines file to which one line per file emitted is appended before its first frame: {"path", "first" (frame index in this run), "frames"} (set by emflow run --resume)',
    },
  },
  display: { category: 'source' },
})
export class FolderSource {
  async *process(_inputs: Record<string, never>, params: Params, ctx: ProcessContext) {
    const { folder, pattern, watch, interval, record } = params;
    const isMatch = picomatch(pattern);
    await checkFolder(folder);
    if (params.doneMarker !== undefined && (params.doneMarker === '' || /[/\\\0]/.test(params.doneMarker) || params.doneMarker === '.' || params.doneMarker === '..')) {
      throw new Error(`folder-source: doneMarker ${JSON.stringify(params.doneMarker)} is not a file name (it names a file in the folder)`);
    }
    const skipList = params.skip ? readSkipList(params.skip) : NOTHING_SKIPPED;
    const skipped = (name: string) => skipList.paths.has(join(folder, name));
    // numbering goes on after the files processed before, so that names made of {frame} do not shift
    let file = skipList.files;
    let emitted = 0;
    const allocate: Allocate = (dtype, shape, meta) => ctx.alloc('image', dtype, shape, { ...meta, frame: skipList.frames + emitted });
    const imagesOf = function* (name: string, arrays: NDArray[]) {
      const path = join(folder, name);
      const frames = imageCount(arrays, path);
      if (record) appendRecord(record, { path, first: emitted, frames });
      for (const image of fileImages(arrays, path, file++, allocate)) {
        yield { image };
        emitted++;
      }
    };

    if (!watch) {
      const matching = byName((await listMatchingFiles(folder, isMatch)).keys());
      if (matching.length === 0) throw new Error(`folder-source: no files match "${pattern}" in ${folder}`);
      for (const name of matching.filter((n) => !skipped(n))) yield* imagesOf(name, await readFrames(join(folder, name)));
      return;
    }
    // Runs until the marker, the idle timeout, or the engine stops pulling (it then ends this generator at its current yield).
    const files = watchFolder({
      folder,
      isMatch,
      interval,
      stableTime: params.stableTime,
      doneMarker: params.doneMarker,
      idleTimeout: params.idleTimeout,
      skip: skipped,
      read: (name) => readFrames(join(folder, name)),
      fatal: (name) => !FRAME_FILE_EXTENSIONS.includes(extname(name).toLowerCase()),
      notYet: (name, error) => console.error(`folder-source: ${name} cannot be read yet (${error.message.replace(/^folder-source: /, '')}); it is read again once it changes`),
    });
    for await (const { name, value } of files) yield* imagesOf(name, value);
  }
}
