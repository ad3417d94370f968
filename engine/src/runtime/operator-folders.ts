// Operator folders on the process runtime's search path, by kind: what a folder holds decides how its specs
// are read and how its operators are started.
//   node     package.json (main, or emflow.module): a module of @operator classes, served by the SDK's host
//   python   pyproject.toml with [tool.emflow] operator = "operator.py": served by the Python SDK (sdk/python)
//   command  emflow-command.json: an external program wrapped by a manifest, served by the engine's command host
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { OperatorProblem } from './runtime.js';

export const COMMAND_MANIFEST = 'emflow-command.json';
export const PYTHON_MANIFEST = 'pyproject.toml';
export const NODE_MANIFEST = 'package.json';

export type OperatorEntry =
  | { kind: 'node'; folder: string; module: string }
  | { kind: 'python'; folder: string; script: string; python: string }
  | { kind: 'command'; folder: string; manifest: string };

/** The interpreter a Python operator runs with: its own `python`, else $EMFLOW_PYTHON, else python3 on the PATH. */
export const defaultPython = () => process.env.EMFLOW_PYTHON || 'python3';

const isPlainName = (name: string) => name !== '' && !name.startsWith('.') && !name.includes('/') && !name.includes('\\');

/** [tool.emflow] of a pyproject.toml: the operator script (a plain file name in the folder) and the interpreter. */
function pythonEntry(folder: string): OperatorEntry | undefined {
  let toml: { tool?: { emflow?: { operator?: unknown; python?: unknown } } };
  try {
    toml = parseToml(readFileSync(join(folder, PYTHON_MANIFEST), 'utf8'));
  } catch (error) {
    throw new Error(`${PYTHON_MANIFEST}: ${(error as Error).message.split('\n')[0]}`);
  }
  const section = toml.tool?.emflow;
  if (section === undefined) return undefined; // a Python package that is not an operator
  if (typeof section.operator !== 'string' || !isPlainName(section.operator)) {
    throw new Error(`${PYTHON_MANIFEST}: [tool.emflow] operator must name the operator's script in this folder, e.g. operator = "operator.py"`);
  }
  if (section.python !== undefined && (typeof section.python !== 'string' || section.python === '')) throw new Error(`${PYTHON_MANIFEST}: [tool.emflow] python must be an interpreter command`);
  const script = join(folder, section.operator);
  if (!existsSync(script)) throw new Error(`${PYTHON_MANIFEST}: [tool.emflow] operator names ${section.operator}, which does not exist`);
  return { kind: 'python', folder, script, python: (section.python as string | undefined) ?? defaultPython() };
}

function nodeEntry(folder: string): OperatorEntry {
  let pkg: { main?: string; emflow?: { module?: string } };
  try {
    pkg = JSON.parse(readFileSync(join(folder, NODE_MANIFEST), 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${NODE_MANIFEST}: ${(error as Error).message}`);
  }
  return { kind: 'node', folder, module: resolve(folder, pkg.emflow?.module ?? pkg.main ?? 'dist/index.js') };
}

/** What kind of operator folder `folder` is, or undefined when it is none. */
export function entryOf(folder: string): OperatorEntry | undefined {
  if (existsSync(join(folder, COMMAND_MANIFEST))) return { kind: 'command', folder, manifest: join(folder, COMMAND_MANIFEST) };
  if (existsSync(join(folder, PYTHON_MANIFEST))) {
    const python = pythonEntry(folder);
    if (python) return python;
  }
  if (existsSync(join(folder, NODE_MANIFEST))) return nodeEntry(folder);
  return undefined;
}

/** The operator folders in `dirs` (each real folder once, however many ways lead to it); unreadable ones are problems. */
export function operatorEntries(dirs: string[], problems: OperatorProblem[]): OperatorEntry[] {
  const found = new Map<string, OperatorEntry>();
  for (const dir of dirs) {
    for (const dirent of readdirSync(dir, { withFileTypes: true })) {
      const folder = join(dir, dirent.name);
      // a link to an operator folder counts as the folder (a facility links the operators it uses)
      if (!dirent.isDirectory() && !(dirent.isSymbolicLink() && statSync(folder, { throwIfNoEntry: false })?.isDirectory())) continue;
      try {
        const entry = entryOf(folder);
        const real = realpathSync(folder);
        if (entry && !found.has(real)) found.set(real, entry);
      } catch (error) {
        problems.push({ location: folder, message: (error as Error).message });
      }
    }
  }
  return [...found.values()];
}

/** Folders that are never part of an operator: caches, virtual environments, build output, version control. */
const SKIPPED_FOLDERS = new Set(['__pycache__', 'node_modules', 'venv', 'build', 'dist', 'site-packages']);
const skippedFolder = (name: string) => name.startsWith('.') || SKIPPED_FOLDERS.has(name) || name.endsWith('.egg-info');

function walk(dir: string, keep: (name: string) => boolean, skip: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? (skip(e.name) ? [] : walk(join(dir, e.name), keep, skip)) : keep(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

/** The Python files of a folder (and its pyproject.toml): what a Python operator, or the Python SDK, consists of. */
export const pythonFiles = (folder: string) => walk(folder, (name) => name.endsWith('.py') || name === PYTHON_MANIFEST, skippedFolder);

/** Files whose content makes the operator what it is (its identity, and the key of the cached specs). */
export function sourceFiles(entry: OperatorEntry): string[] {
  switch (entry.kind) {
    case 'node':
      return [join(entry.folder, NODE_MANIFEST), ...walk(resolve(entry.module, '..'), (name) => !name.endsWith('.map'), (name) => name === 'node_modules')];
    case 'python':
      return pythonFiles(entry.folder);
    case 'command':
      return [entry.manifest];
  }
}
