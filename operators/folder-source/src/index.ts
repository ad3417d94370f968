import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { operator, type NDArray, type ProcessContext } from '@emflow/sdk';
import { readFrameFile } from '@emflow/formats';
import { fileImages, type Allocate } from './file-images.js';
import { byName, checkFolder, listMatchingFiles, settledFiles, type Listing } from './folder-listing.js';

interface Params {
  folder: string;
  pattern: string;
  watch: boolean;
  interval: number;
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
  version: '1.0.0',
  description:
    'Emits the images in the files of a folder whose names match a glob, in name order: .mrc/.map/.mrcs/.st/.rec, .tif/.tiff and .npy ' +
    '(a volume or stack gives one image per section). With `watch`, keeps emitting files as they appear, each once it has stopped changing.',
  outputs: {
    image: { type: 'image2d', description: 'one [y, x] image per 2-D array or section; meta: source (file path), file (index), section, pixelSize' },
  },
  params: {
    folder: { type: 'string', path: 'read', description: 'folder to read' },
    pattern: { type: 'string', default: '*', description: 'glob matched against file names (not paths), e.g. "*.mrc" or "mic-*.tif"; hidden files only if it says so' },
    watch: {
      type: 'boolean',
      default: false,
      description: 'keep watching for new files until the pipeline stops; a file is read once its size and mtime were the same at two consecutive checks',
    },
    interval: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 500, units: 'ms', description: 'time between checks of the folder when watching' },
  },
  display: { category: 'source' },
})
export class FolderSource {
  async *process(_inputs: Record<string, never>, { folder, pattern, watch, interval }: Params, ctx: ProcessContext) {
    const isMatch = picomatch(pattern);
    await checkFolder(folder);
    const allocate: Allocate = (dtype, shape, meta) => ctx.alloc('image', dtype, shape, meta);
    let file = 0;
    const imagesOf = async function* (name: string) {
      const path = join(folder, name);
      for (const image of fileImages(await readFrames(path), path, file++, allocate)) yield { image };
    };

    if (!watch) {
      const names = byName((await listMatchingFiles(folder, isMatch)).keys());
      if (names.length === 0) throw new Error(`folder-source: no files match "${pattern}" in ${folder}`);
      for (const name of names) yield* imagesOf(name);
      return;
    }
    // Runs until the engine stops pulling (it then ends this generator at its current yield).
    const emitted = new Set<string>();
    let previous: Listing = new Map();
    for (;;) {
      const current = await listMatchingFiles(folder, isMatch);
      for (const name of settledFiles(previous, current, emitted)) {
        emitted.add(name);
        yield* imagesOf(name);
      }
      previous = current;
      await sleep(interval);
    }
  }
}
