// What the files and folders named by a node's read paths look like right now, for the cache key: a file
// changed, added, removed or replaced (even by one of the same size) gives another key. I/O at the edge of planning.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OperatorSpec } from '@emflow/sdk';

/** Entries of a folder looked at, at most: a bigger folder is keyed by its first entries in name order and its own times. */
const MAX_ENTRIES = 100_000;
const GLOB = /[*?[{]/;

function statText(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.isDirectory() ? 'd' : s.isFile() ? 'f' : 'o'}:${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (error) {
    return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}

/** A file's stat, or a folder's stat and the stat of every entry in it (not recursive: sources read one level). */
export function fileIdentity(path: string): string {
  // a glob names the files of the folder in front of its first wildcard
  const target = GLOB.test(path) ? dirname(path.slice(0, path.search(GLOB)) + 'x') : path;
  const own = statText(target);
  if (!own.startsWith('d:')) return own;
  const hash = createHash('sha256').update(own);
  try {
    const names = readdirSync(target).sort().slice(0, MAX_ENTRIES);
    for (const name of names) hash.update(`\n${name}\0${statText(join(target, name))}`);
  } catch (error) {
    hash.update(`error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`);
  }
  return hash.digest('hex');
}

/** param → identity of what it names, for a node's read paths. */
export function readPathIdentities(spec: OperatorSpec, params: Record<string, unknown>): Record<string, string> {
  const identities: Record<string, string> = {};
  for (const [name, param] of Object.entries(spec.params ?? {})) {
    const value = params[name];
    if (param.path === 'read' && typeof value === 'string' && value !== '') identities[name] = fileIdentity(value);
  }
  return identities;
}
