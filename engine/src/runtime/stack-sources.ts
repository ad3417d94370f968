// An operator's stack trace in the lines of its sources. Operators start without --enable-source-maps (reading
// every module's map cost a fifth of a start's CPU), so the maps are read here instead, when a stack comes back
// with a failure: only for files inside the operator's own folder, which on the process runtime are the files it
// ran (a container's paths are not on this host and stay as they are).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer, type RawSourceMap } from 'source-map-js';

/** A frame's location at the end of a stack line: `(file:///x.js:12:5)` or `at /x.js:12:5`. */
const LOCATION = /(?<=[( ])(file:\/\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)(?=\)?$)/gm;

const SOURCE_MAPPING_URL = /\/\/# sourceMappingURL=(\S+)\s*$/;

/** The source map a compiled file names in its last comment (a file beside it, or inline base64), if any. */
function mapOf(file: string): { map: SourceMapConsumer; dir: string } | undefined {
  let url: string | undefined;
  try {
    url = SOURCE_MAPPING_URL.exec(readFileSync(file, 'utf8').slice(-4096))?.[1];
    if (!url) return undefined;
    const inline = /^data:application\/json;(?:charset=utf-8;)?base64,(.+)$/.exec(url);
    const text = inline ? Buffer.from(inline[1], 'base64').toString('utf8') : readFileSync(resolve(dirname(file), decodeURIComponent(url)), 'utf8');
    const raw = JSON.parse(text) as RawSourceMap;
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
    if (!maps.has(file)) maps.set(file, mapOf(file));
    const found = maps.get(file);
    const original = found?.map.originalPositionFor({ line: Number(line), column: Number(column) - 1 });
    if (!found || !original?.source || original.line === null) return location;
    return `${resolve(found.dir, original.source)}:${original.line}:${original.column + 1}`;
  });
}
