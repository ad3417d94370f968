// What a pipeline document may hold: plain JSON (finite numbers, no functions, no class instances), at most
// MAX_DEPTH levels deep. Files are checked as text when they are loaded (pipeline-file.ts); documents handed
// over as objects are checked here, before anything recurses into them (structuredClone, Ajv, JSON.stringify).
import { escapePointer, type Problem } from './problems.js';

/** Deepest nesting of arrays and objects a document may have (`{"a": 1}` is 1 level; a pipeline needs 5 or so). */
export const MAX_DEPTH = 64;

/** Longest pointer a depth problem shows: the place is clear long before its 65th segment. */
const MAX_DEPTH_POINTER = 160;

interface Pending {
  value: unknown;
  key?: string | number;
  parent?: Pending;
  depth: number;
}

function pointerOf(entry: Pending): string {
  const segments: string[] = [];
  for (let e: Pending | undefined = entry; e?.parent; e = e.parent) segments.push('/' + escapePointer(e.key!));
  return segments.reverse().join('');
}

function kindOf(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return typeof name === 'string' && name ? `a ${name}` : 'an object with a prototype';
}

/**
 * The first thing in `value` that is not plain, finite JSON within MAX_DEPTH levels, as a problem at its
 * pointer; undefined when there is none. Iterative: any depth (or a cycle) ends at MAX_DEPTH, not in a stack overflow.
 */
export function jsonValueProblem(value: unknown): Problem | undefined {
  const pending: Pending[] = [{ value, depth: 0 }];
  while (pending.length) {
    const entry = pending.pop()!;
    const v = entry.value;
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) continue;
      const what = Number.isNaN(v) ? 'not a number (NaN)' : `number out of range (${v}; JSON numbers are finite, at most ±${Number.MAX_VALUE})`;
      return { pointer: pointerOf(entry), message: what };
    }
    const prototype = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
    const isArray = Array.isArray(v);
    if (typeof v !== 'object' || (!isArray && prototype !== Object.prototype && prototype !== null)) {
      return { pointer: pointerOf(entry), message: `not a JSON value (${kindOf(v)})` };
    }
    const depth = entry.depth + 1;
    if (depth > MAX_DEPTH) {
      const at = pointerOf(entry);
      return { pointer: at.length > MAX_DEPTH_POINTER ? `${at.slice(0, MAX_DEPTH_POINTER - 1)}…` : at, message: `nested deeper than ${MAX_DEPTH} levels` };
    }
    // pushed in reverse: the first problem found is the first in document order
    if (isArray) {
      for (let i = (v as unknown[]).length - 1; i >= 0; i--) pending.push({ value: (v as unknown[])[i], key: i, parent: entry, depth });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) pending.push({ value: (v as Record<string, unknown>)[keys[i]], key: keys[i], parent: entry, depth });
    }
  }
  return undefined;
}
