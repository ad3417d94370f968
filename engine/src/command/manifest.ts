// The manifest of a command operator (emflow-command.json): an external program wrapped without code. It holds
// the operator's spec, the program's argv with placeholders, the file format of each port, the timeout and what
// exit codes mean. Parsing and placeholder expansion are pure: nothing here reads a file or runs anything.
import { own, type OperatorSpec } from '@emflow/sdk';
import { parseJsonDocument } from '../pipeline-file.js';
import { ajv } from '../validate/ajv.js';
import type { ErrorObject } from 'ajv';
import { escapePointer, pointer, problemsFromAjv, quote, ValidationError, type Problem } from '../validate/problems.js';
import { validateSpec } from '../validate/spec.js';
import manifestSchema from './command-manifest.schema.json' with { type: 'json' };
import { FILE_FORMATS, formatMismatch, type FileFormat } from './file-formats.js';

export interface CommandManifest {
  emflow: 1;
  spec: OperatorSpec;
  /** argv templates: the program (a literal), then its arguments */
  command: string[];
  /** lines written to the program's standard input, templates too */
  stdin?: string[];
  formats: { input: Record<string, FileFormat>; output: Record<string, FileFormat> };
  /** one frame's limit; the default is filled in by the schema */
  timeoutMs: number;
  /** exit codes that mean success; the default is filled in by the schema */
  successCodes: number[];
  /** what other exit codes mean, by code */
  exitMessages?: Record<string, string>;
  /** folder for the per-frame scratch folders (default: the system's temporary folder) */
  scratch?: string;
}

const checkSchema = ajv.compile<CommandManifest>(manifestSchema);

type Direction = 'input' | 'output';
export type Placeholder = { kind: Direction | 'params'; name: string } | { kind: 'frame' | 'workdir' };
/** A template as literal text and placeholders, in order. */
export type Template = (string | Placeholder)[];

/** What placeholders stand for in one frame's command: the files of the ports, the params, the frame index, the scratch folder. */
export interface TemplateValues {
  input: Readonly<Record<string, string>>;
  output: Readonly<Record<string, string>>;
  params: Readonly<Record<string, unknown>>;
  frame: number;
  workdir: string;
}

const TOKEN = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;
const NAMED = /^(input|output|params)\.([A-Za-z_][A-Za-z0-9_]{0,63})$/;
const KNOWN = '{input.PORT}, {output.PORT}, {params.NAME}, {frame}, {workdir}; {{ and }} are literal braces';

function placeholderOf(inner: string): Placeholder {
  if (inner === 'frame' || inner === 'workdir') return { kind: inner };
  const named = NAMED.exec(inner);
  if (!named) throw new Error(`unknown placeholder ${quote(`{${inner}}`)} (placeholders: ${KNOWN})`);
  return { kind: named[1] as Direction | 'params', name: named[2] };
}

/** A template's literal text and placeholders; throws saying what is wrong with it. */
export function parseTemplate(text: string): Template {
  const parts: Template = [];
  let literal = '';
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    literal += text.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[0] === '{{' || match[0] === '}}') {
      literal += match[0][0];
    } else if (match[1] !== undefined) {
      parts.push(literal, placeholderOf(match[1]));
      literal = '';
    } else {
      const brace = match[0];
      throw new Error(`${brace === '{' ? 'unclosed' : 'unopened'} "${brace}" at character ${match.index + 1} (write ${brace}${brace} for a literal brace)`);
    }
  }
  parts.push(literal + text.slice(last));
  return parts.filter((part) => part !== '');
}

export const placeholderText = (p: Placeholder) => `{${'name' in p ? `${p.kind}.${p.name}` : p.kind}}`;

/**
 * A template with its placeholders replaced: one argv string (never split, never seen by a shell), or with
 * `line`, one line of the program's stdin, where a value with a line break would answer the next question too.
 */
export function expandTemplate(text: string, values: TemplateValues, line = false): string {
  return parseTemplate(text)
    .map((part) => {
      if (typeof part === 'string') return part;
      if (!('name' in part)) return part.kind === 'frame' ? String(values.frame) : values.workdir;
      const value = own(values[part.kind], part.name);
      if (value === undefined) throw new Error(`${placeholderText(part)} has no value`);
      const text = String(value);
      if (text.includes('\0')) throw new Error(`${placeholderText(part)}: a value with a NUL character cannot be passed to a program`);
      if (line && /[\r\n]/.test(text)) throw new Error(`${placeholderText(part)}: a value with a line break cannot go into a stdin line (it would answer the program's next question too)`);
      return text;
    })
    .join('');
}

const portsOf = (spec: OperatorSpec, direction: Direction) => (direction === 'input' ? spec.inputs : spec.outputs) ?? {};
const listed = (names: string[], what: string) => (names.length ? `${what}: ${names.join(', ')}` : `no ${what}`);

/** Ports without a format, formats without a port, formats that cannot carry their port, optional inputs. */
function portProblems(manifest: CommandManifest): Problem[] {
  const problems: Problem[] = [];
  for (const direction of ['input', 'output'] as const) {
    const ports = portsOf(manifest.spec, direction);
    const formats = manifest.formats[direction];
    for (const [name, port] of Object.entries(ports)) {
      const format = own(formats, name);
      if (format === undefined) problems.push({ pointer: pointer('formats', direction), message: `no format for ${direction} port ${quote(name)} (one of ${FILE_FORMATS.join(', ')})` });
      const mismatch = format && formatMismatch(format, port.type);
      if (mismatch) problems.push({ pointer: pointer('formats', direction, name), message: mismatch });
      if (direction === 'input' && port.required === false) {
        problems.push({ pointer: pointer('spec', 'inputs', name, 'required'), message: 'inputs of a command operator are required: the program is always given a file for each' });
      }
    }
    for (const name of Object.keys(formats)) {
      if (!own(ports, name)) problems.push({ pointer: pointer('formats', direction, name), message: `spec has no ${direction} port ${quote(name)} (${listed(Object.keys(ports), `${direction}s`)})` });
    }
  }
  return problems;
}

/** Problems of the command and stdin templates: syntax, names, the program, and ports the program is never told of. */
function templateProblems(manifest: CommandManifest): Problem[] {
  const { spec } = manifest;
  const problems: Problem[] = [];
  const named = new Set<string>();
  const templates = [...manifest.command.map((text, i) => ({ at: pointer('command', i), text })), ...(manifest.stdin ?? []).map((text, i) => ({ at: pointer('stdin', i), text }))];
  for (const { at, text } of templates) {
    let template: Template;
    try {
      template = parseTemplate(text);
    } catch (error) {
      problems.push({ pointer: at, message: (error as Error).message });
      continue;
    }
    for (const part of template) {
      if (typeof part === 'string' || !('name' in part)) continue;
      named.add(placeholderText(part));
      if (part.kind === 'params') {
        const param = own(spec.params, part.name);
        if (!param) problems.push({ pointer: at, message: `${placeholderText(part)}: spec has no param ${quote(part.name)} (${listed(Object.keys(spec.params ?? {}), 'params')})` });
        else if (param.optional && param.default === undefined) problems.push({ pointer: at, message: `${placeholderText(part)}: the param is optional without a default, so it may have no value (give it a default)` });
      } else if (!own(portsOf(spec, part.kind), part.name)) {
        problems.push({ pointer: at, message: `${placeholderText(part)}: spec has no ${part.kind} port ${quote(part.name)} (${listed(Object.keys(portsOf(spec, part.kind)), `${part.kind}s`)})` });
      }
    }
  }
  const [program] = manifest.command;
  if (program === '') problems.push({ pointer: pointer('command', 0), message: 'names no program' });
  // what runs is decided by whoever wrote the manifest, never by a pipeline's params
  else if (/[{}]/.test(program)) problems.push({ pointer: pointer('command', 0), message: 'the program is named literally: no placeholders or braces' });
  for (const direction of ['input', 'output'] as const) {
    for (const name of Object.keys(portsOf(spec, direction))) {
      const placeholder = `{${direction}.${name}}`;
      if (!named.has(placeholder)) problems.push({ pointer: pointer('command'), message: `${direction} port ${quote(name)} is never passed to the program: put ${placeholder} into command or stdin` });
    }
  }
  return problems;
}

function exitCodeProblems(manifest: CommandManifest): Problem[] {
  return Object.keys(manifest.exitMessages ?? {})
    .filter((code) => manifest.successCodes.includes(Number(code)))
    .map((code) => ({ pointer: pointer('exitMessages', code), message: `exit code ${code} means success (successCodes): messages are for failures` }));
}

/** Schema problems, those of a key (an exit code, a port name) pointing at the key, without Ajv's summary of them. */
function schemaProblems(errors: ErrorObject[]): Problem[] {
  const ofKeys = errors.filter((e) => e.keyword !== 'propertyNames').map((e) => (e.propertyName === undefined ? e : { ...e, instancePath: `${e.instancePath}/${escapePointer(e.propertyName)}` }));
  return problemsFromAjv(ofKeys);
}

/** Every problem of a manifest (JSON pointers into it), or the manifest with defaults filled in. */
export function checkManifest(value: unknown): { manifest?: CommandManifest; problems: Problem[] } {
  if (!checkSchema(value)) return { problems: schemaProblems(checkSchema.errors ?? []) };
  const specProblems = validateSpec(value.spec).map((p) => ({ ...p, pointer: pointer('spec') + p.pointer }));
  if (specProblems.length) return { problems: specProblems };
  const problems = [...portProblems(value), ...templateProblems(value), ...exitCodeProblems(value)];
  return problems.length ? { problems } : { manifest: value, problems };
}

/** A manifest from its text; throws InputFileError (not JSON) or ValidationError (every problem), both naming `source`. */
export function parseManifest(text: string, source: string): CommandManifest {
  const { manifest, problems } = checkManifest(parseJsonDocument(text, source));
  if (!manifest) throw new ValidationError(problems, source);
  return manifest;
}
