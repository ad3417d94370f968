// What a pipeline document may hold: plain JSON (finite numbers, no functions, no class instances), at most
// MAX_DEPTH levels deep. Files are checked as text when they are loaded (pipeline-file.ts); documents handed
// over as objects are checked here, and copied, before anything recurses into them (Ajv, JSON.stringify).
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
  /** the copy of the container this value goes into */
  into?: Record<string | number, unknown> | unknown[];
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

function problemOf(entry: Pending): Problem | undefined {
  const v = entry.value;
  if (typeof v === 'number' && !Number.isFinite(v)) {
    return { pointer: pointerOf(entry), message: Number.isNaN(v) ? 'not a number (NaN)' : `number out of range (${v}; JSON numbers are finite, at most ±${Number.MAX_VALUE})` };
  }
  if (v === null || typeof v !== 'object') {
    return typeof v === 'function' || typeof v === 'bigint' || typeof v === 'symbol' ? { pointer: pointerOf(entry), message: `not a JSON value (${kindOf(v)})` } : undefined;
  }
  const prototype = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && prototype !== Object.prototype && prototype !== null) return { pointer: pointerOf(entry), message: `not a JSON value (${kindOf(v)})` };
  if (entry.depth + 1 > MAX_DEPTH) {
    const at = pointerOf(entry);
    return { pointer: at.length > MAX_DEPTH_POINTER ? `${at.slice(0, MAX_DEPTH_POINTER - 1)}…` : at, message: `nested deeper than ${MAX_DEPTH} levels` };
  }
  return undefined;
}

/**
 * A copy of a document that is plain, finite JSON within MAX_DEPTH levels, or the first problem at its pointer.
 * Iterative: any depth (or a cycle) ends at MAX_DEPTH, not in a stack overflow. Strings are shared, not copied
 * (a document may hold megabytes in one); a key "__proto__" is copied as the own key it is.
 */
export function copyJson(value: unknown): { copy: unknown; problem?: undefined } | { problem: Problem } {
  const root: { copy?: unknown } = {};
  const pending: Pending[] = [{ value, depth: 0, into: root, key: 'copy' }];
  while (pending.length) {
    const entry = pending.pop()!;
    const problem = problemOf(entry);
    if (problem) return { problem };
    const v = entry.value;
    let copy = v;
    if (v !== null && typeof v === 'object') {
      const isArray = Array.isArray(v);
      const keys: readonly string[] | undefined = isArray ? undefined : Object.keys(v);
      const length = keys ? keys.length : (v as unknown[]).length;
      copy = isArray ? new Array(length) : {};
      const containers: Pending[] = [];
      // every key is put in document order now (a container's copy replaces its placeholder later, in place)
      for (let i = 0; i < length; i++) {
        const key = keys ? keys[i] : i;
        const child: Pending = { value: (v as Record<string | number, unknown>)[key], key, parent: entry, depth: entry.depth + 1, into: copy as Record<string, unknown> };
        put(child, plain(child.value) ? child.value : undefined);
        if (!plain(child.value)) containers.push(child);
      }
      for (let i = containers.length - 1; i >= 0; i--) pending.push(containers[i]);
    }
    put(entry, copy);
  }
  return { copy: root.copy };
}

/** A value copied as it is: a string, a finite number, a boolean, null or undefined. */
const plain = (v: unknown) => v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function put(entry: Pending, copy: unknown): void {
  // defined, not assigned: "__proto__" is a key like any other in a document
  if (entry.key === '__proto__') Object.defineProperty(entry.into, '__proto__', { value: copy, enumerable: true, writable: true, configurable: true });
  else (entry.into as Record<string | number, unknown>)[entry.key!] = copy;
}
