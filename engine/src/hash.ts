// Canonical JSON and the content hashes that key the result cache.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal values always serialise equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function sha256(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

export interface NodeKeyInput {
  /** operator identity: source hash (process runtime) or image digest (containers) */
  identity: string;
  params: Record<string, unknown>;
  /** input port → key of the upstream node and its port */
  inputs: Record<string, string>;
  /** limits that change what a node emits (e.g. the source frame limit) */
  limits?: Record<string, unknown>;
  /** path param → identity of what it names now, so a changed file is never served from the cache */
  files?: Record<string, string>;
}

/** The cache key of a node's outputs. */
export function nodeKey(input: NodeKeyInput): string {
  return sha256(canonicalJson(input));
}
