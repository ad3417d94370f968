// Output file names from patterns such as "out/frame-{frame:04d}.mrc": Python str.format syntax, limited to the
// fields emflow fills in, so a pattern reads the same as in the Python tools microscopists already use.
import { parse } from 'node:path';

export interface NameFields {
  /** Index of the frame being written. */
  frame: number;
  /** The source file's base name without extension (see sourceName). */
  name?: string;
  /** The pipeline node writing the file. */
  node?: string;
}

const KNOWN = '{frame}, {frame:04d} (zero-padded to 4 digits), {name}, {node}';
/** A doubled brace (literal), a field with optional ":spec", or a stray brace. */
const TOKEN = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;
/** Python integer specs we accept: "", "d", "04", "04d" (zero padding to a width). */
const INTEGER_SPEC = /^(?:0(\d+))?d?$/;

export function formatName(pattern: string, fields: NameFields): string {
  return pattern.replace(TOKEN, (token: string, inner: string | undefined) => {
    if (token === '{{') return '{';
    if (token === '}}') return '}';
    if (inner === undefined) throw new Error(`name pattern "${pattern}": unmatched "${token}" (write "${token}${token}" for a literal brace)`);
    const colon = inner.indexOf(':');
    const [field, spec] = colon < 0 ? [inner, undefined] : [inner.slice(0, colon), inner.slice(colon + 1)];
    if (field === 'frame') return formatFrame(pattern, fields.frame, spec ?? '');
    if (field !== 'name' && field !== 'node') throw new Error(`name pattern "${pattern}": unknown field {${inner}} (known: ${KNOWN})`);
    if (spec !== undefined) throw new Error(`name pattern "${pattern}": {${inner}}: the ${field} field takes no format spec`);
    const value = fields[field];
    if (value === undefined || value === '') {
      throw new Error(`name pattern "${pattern}": {${field}} has no value here (${field === 'name' ? 'the frame has no source file' : 'no node name'})`);
    }
    // a value is one path segment: "..", "." or a separator would lead the file out of the folder the pattern names
    if (value === '.' || value === '..' || /[/\\\0]/.test(value)) {
      throw new Error(`name pattern "${pattern}": {${field}} is ${JSON.stringify(value)}, which cannot be used in a file name (it would leave the folder the pattern names)`);
    }
    return value;
  });
}

function formatFrame(pattern: string, frame: number, spec: string): string {
  const match = INTEGER_SPEC.exec(spec);
  if (!match) throw new Error(`name pattern "${pattern}": {frame:${spec}}: unsupported format spec "${spec}" (use {frame}, {frame:d} or {frame:0Nd}, e.g. {frame:04d})`);
  if (!Number.isInteger(frame) || frame < 0) throw new Error(`name pattern "${pattern}": frame must be a non-negative integer, got ${frame}`);
  return String(frame).padStart(Number(match[1] ?? 0), '0');
}

/** The {name} of a frame: its source file's base name without the last extension, or undefined without a source. */
export function sourceName(source: string | undefined): string | undefined {
  return source ? parse(source).name : undefined;
}
