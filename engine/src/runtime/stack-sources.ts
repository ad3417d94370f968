// An operator's stack trace in the lines of its sources. Operators start without --enable-source-maps (reading
// every module's map cost a fifth of a start's CPU), so the maps are read here instead, when a stack comes back
// with a failure: only for files inside the operator's own folder, which on the process runtime are the files it
// ran (a container's paths are not on this host and stay as they are).
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer, type RawSourceMap } from 'source-map-js';
import { readRegularFile } from '../regular-file.js';

/** A frame's location at the end of a stack line: `(file:///x.js:12:5)` or `at /x.js:12:5`. */
const LOCATION = /(?<=[( ])(file:\/\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)(?=\)?$)/gm;

const SOURCE_MAPPING_URL = /\/\/# sourceMappingURL=(\S+)\s*$/;

/** Larger maps are not read: a stack is mapped on the engine's thread, and an operator's folder is not trusted. */
const MAX_MAP_BYTES = 32 * 2 ** 20;

/** The source map a compiled file names in its last comment (a file beside it, or inline base64), if any. */
function mapOf(file: string): { map: SourceMapConsumer; dir: string } | undefined {
  try {
    // an inline map is in the comment itself, so the end of the file is read as far as a map may go
    const end = readRegularFile(file, { maxBytes: MAX_MAP_BYTES, tail: true, followLinks: true });
    const url = end && SOURCE_MAPPING_URL.exec(end.toString('utf8'))?.[1];
    if (!url) return undefined;
    const inline = /^data:application\/json;(?:charset=utf-8;)?base64,(.+)$/.exec(url);
    const text = inline ? Buffer.from(inline[1], 'base64') : readRegularFile(resolve(dirname(file), decodeURIComponent(url)), { maxBytes: MAX_MAP_BYTES, followLinks: true });
    if (!text) return undefined;
    const raw = JSON.parse(text.toString('utf8')) as RawSourceMap;
    // sources are relative to the map (and its sourceRoot); inline maps are relative to the file
    const dir = inline ? dirname(file) : dirname(resolve(dirname(file), decodeURIComponent(url)));
    return { map: new SourceMapConsumer(raw), dir: resolve(dir, raw.sourceRoot ?? '') };
  } catch {
    return undefined; // no map, or not one that parses: the line stays as it is
  }
}

const inside = (folder: string, file: string) => {
  const path = relative(folder, file);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
};

/** A stack names a few files (Node keeps 10 frames); one from the wire could name thousands, each read here. */
const MAX_FILES = 32;

/** `stack` with each frame in a compiled file of `folder` pointing at its source line instead, where a map says. */
export function stackInSources(stack: string, folder: string): string {
  const maps = new Map<string, ReturnType<typeof mapOf>>();
  return stack.replace(LOCATION, (location: string, where: string, line: string, column: string) => {
    let file: string;
    try {
      file = where.startsWith('file:') ? fileURLToPath(where) : where;
    } catch {
      return location;
    }
    if (!inside(folder, file)) return location;
    if (!maps.has(file) && maps.size < MAX_FILES) maps.set(file, mapOf(file));
    const found = maps.get(file);
    const original = found?.map.originalPositionFor({ line: Number(line), column: Number(column) - 1 });
    if (!found || !original?.source || original.line === null) return location;
    return `${resolve(found.dir, original.source)}:${original.line}:${original.column + 1}`;
  });
}
