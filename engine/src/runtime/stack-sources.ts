// An operator's stack trace in the lines of its sources. Operators start without --enable-source-maps (reading
// every module's map cost a fifth of a start's CPU), so the maps are read here instead, when a stack comes back
// with a failure: only files inside the operator's own folder (compared by their real paths, so a linked folder
// works and a link out of it does not), which on the process runtime are the files it ran. A container's paths
// are not on this host, and an image's location is no folder: those stacks stay as they are.
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SourceMapConsumer, type RawSourceMap } from 'source-map-js';
import { pathInside } from '../path-inside.js';
import { readRegularFile } from '../regular-file.js';

/** A frame's location at the end of a stack line: `(file:///x.js:12:5)` or `at /x.js:12:5`. */
const LOCATION = /(?<=[( ])(file:\/\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)(?=\)?$)/gm;

const SOURCE_MAPPING_URL = /\/\/# sourceMappingURL=(\S+)\s*$/;

/**
 * What one stack may make the engine read, on its own thread, from a folder it does not trust: a stack names a
 * few files (Node keeps 10 frames), one from the wire could name thousands, and a map of a large bundle is a few MiB.
 */
const MAX_FILES = 16;
const MAX_MAP_BYTES = 8 * 2 ** 20;

/** The real path of `path` when it lies inside the real folder `root`, else undefined. */
function realInside(root: string, path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  return pathInside(root, real) === undefined ? undefined : real;
}

/** The source map a compiled file names in its last comment (a file beside it, or inline base64), if any. */
function mapOf(root: string, file: string): SourceMapConsumer | undefined {
  try {
    // an inline map is in the comment itself, so the end of the file is read as far as a map may go
    const end = readRegularFile(file, { maxBytes: MAX_MAP_BYTES, tail: true });
    const url = end && SOURCE_MAPPING_URL.exec(end.toString('utf8'))?.[1];
    if (!url) return undefined;
    const inline = /^data:application\/json;(?:charset=utf-8;)?base64,(.+)$/.exec(url);
    const mapFile = inline ? undefined : realInside(root, resolve(dirname(file), decodeURIComponent(url)));
    const text = inline ? Buffer.from(inline[1], 'base64') : mapFile && readRegularFile(mapFile, { maxBytes: MAX_MAP_BYTES });
    if (!text) return undefined;
    // sources are relative to the map (inline: to the file) and its sourceRoot: the consumer makes them URLs
    return new SourceMapConsumer(JSON.parse(text.toString('utf8')) as RawSourceMap, pathToFileURL(mapFile ?? file).href);
  } catch {
    return undefined; // not one that parses: the frame stays as it is
  }
}

/** `stack` with each frame in a compiled file of `folder` pointing at its source line instead, where a map says. */
export function stackInSources(stack: string, folder: string): string {
  if (!isAbsolute(folder)) return stack;
  let root: string;
  try {
    root = realpathSync(folder);
  } catch {
    return stack;
  }
  const maps = new Map<string, SourceMapConsumer | undefined>();
  return stack.replace(LOCATION, (location: string, where: string, line: string, column: string) => {
    try {
      const file = realInside(root, where.startsWith('file:') ? fileURLToPath(where) : where);
      if (!file || Number(line) < 1 || Number(column) < 1) return location;
      if (!maps.has(file) && maps.size < MAX_FILES) maps.set(file, mapOf(root, file));
      const original = maps.get(file)?.originalPositionFor({ line: Number(line), column: Number(column) - 1 });
      if (!original?.source || original.line === null) return location;
      const source = original.source.startsWith('file://') ? fileURLToPath(original.source) : original.source;
      return `${source}:${original.line}:${original.column + 1}`;
    } catch {
      return location; // a map whose mappings do not parse (read on first use), or a URL that is no path
    }
  });
}
