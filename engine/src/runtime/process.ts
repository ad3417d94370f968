// The process runtime, the embedded default: every operator a separate local Node process running the
// SDK host on the operator folder's compiled module. No container engine needed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { OperatorSpec } from '@emflow/sdk';
import { sha256 } from '../hash.js';
import { validateSpec } from '../validate/spec.js';
import { formatProblems } from '../validate/problems.js';
import { spawnOperatorProcess } from './local-process.js';
import { conflictMessage, type OperatorCatalog, type OperatorInfo, type OperatorProblem, type OperatorProcess, type Runtime, type StartRequest } from './runtime.js';

const run = promisify(execFile);
const sdkRoot = dirname(createRequire(import.meta.url).resolve('@emflow/sdk/package.json'));
/** The SDK's operator host: `node host/main.js MODULE [--operator NAME] [--describe]`. */
export const HOST_MAIN = join(sdkRoot, 'dist', 'host', 'main.js');
const bundledOperators = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'operators');

export interface ProcessRuntimeOptions {
  /**
   * folders holding one operator folder each, searched besides the built-in operators and
   * $EMFLOW_OPERATORS_PATH. Nothing else is searched: never ./operators of the working directory.
   */
  operatorDirs?: string[];
}

/** $EMFLOW_OPERATORS_PATH: colon-separated folders of operator folders. */
export function operatorsPathFromEnv(): string[] {
  return (process.env.EMFLOW_OPERATORS_PATH ?? '').split(':').filter(Boolean);
}

/** The built-in operators and $EMFLOW_OPERATORS_PATH, as real paths (the folders that exist). */
export function defaultOperatorDirs(): string[] {
  return searchPath([]).dirs;
}

const isFolder = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;

/** Built-in operators, then $EMFLOW_OPERATORS_PATH, then `extra`: real paths, each once; a folder that is missing is a problem. */
function searchPath(extra: readonly string[]): { dirs: string[]; problems: OperatorProblem[] } {
  const dirs = new Set<string>();
  const problems: OperatorProblem[] = [];
  for (const dir of [bundledOperators, ...operatorsPathFromEnv(), ...extra]) {
    if (isFolder(dir)) dirs.add(realpathSync(dir));
    else problems.push({ location: resolve(dir), message: 'no such folder (on the operator search path)' });
  }
  return { dirs: [...dirs], problems };
}

/** Files whose content makes an operator what it is: the package manifest and the compiled module tree. */
function sourceFiles(folder: string, moduleDir: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.map') ? [] : [join(dir, e.name)]))
      .sort();
  return [join(folder, 'package.json'), ...walk(moduleDir)];
}

interface OperatorFolder {
  folder: string;
  module: string;
}

/** The operator folders in `dirs` (each real folder once, however many ways lead to it). */
function operatorFolders(dirs: string[], problems: OperatorProblem[]): OperatorFolder[] {
  const found = new Map<string, OperatorFolder>();
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const folder = join(dir, entry.name);
      const manifest = join(folder, 'package.json');
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { main?: string; emflow?: { module?: string } };
        const real = realpathSync(folder);
        if (!found.has(real)) found.set(real, { folder, module: resolve(folder, pkg.emflow?.module ?? pkg.main ?? 'dist/index.js') });
      } catch (error) {
        problems.push({ location: folder, message: `cannot read package.json: ${(error as Error).message}` });
      }
    }
  }
  return [...found.values()];
}

/** Specs by content hash, so that listing operators does not start a process per unchanged operator. */
function specCacheFile(contentHash: string): string {
  const root = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(root, 'emflow', 'specs', `${contentHash}.json`);
}

async function describe(folder: OperatorFolder): Promise<OperatorInfo[]> {
  if (!existsSync(folder.module)) throw new Error(`${relative(process.cwd(), folder.module)} does not exist (build it with \`npm run build\`)`);
  const files = sourceFiles(folder.folder, dirname(folder.module));
  const contentHash = sha256(...files.flatMap((f) => [relative(folder.folder, f), readFileSync(f)]));
  const cached = specCacheFile(contentHash);
  let specs: OperatorSpec[];
  if (existsSync(cached)) {
    specs = JSON.parse(readFileSync(cached, 'utf8')) as OperatorSpec[];
  } else {
    const { stdout } = await run(process.execPath, [HOST_MAIN, folder.module, '--describe'], { maxBuffer: 16 << 20 }).catch((error: { stderr?: string; message: string }) => {
      throw new Error((error.stderr || error.message).trim().split('\n').slice(0, 6).join('\n'));
    });
    specs = JSON.parse(stdout) as OperatorSpec[];
    mkdirSync(dirname(cached), { recursive: true });
    writeFileSync(cached, JSON.stringify(specs));
  }
  return specs.map((spec) => {
    const problems = validateSpec(spec);
    if (problems.length) throw new Error(`invalid spec of operator "${spec.name}":\n${formatProblems(problems)}`);
    return { spec, identity: `sha256:${contentHash}`, location: folder.folder };
  });
}

export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  private listing?: Promise<OperatorCatalog>;
  private readonly modules = new Map<string, string>();

  constructor(private readonly options: ProcessRuntimeOptions = {}) {}

  catalog(): Promise<OperatorCatalog> {
    this.listing ??= (async () => {
      const { dirs, problems } = searchPath(this.options.operatorDirs ?? []);
      const folders = operatorFolders(dirs, problems);
      const results = await Promise.allSettled(folders.map(describe));
      const catalog: OperatorCatalog = { operators: [], problems, conflicts: [] };
      const byName = new Map<string, { info: OperatorInfo; module: string }[]>();
      results.forEach((result, i) => {
        if (result.status === 'rejected') {
          catalog.problems.push({ location: folders[i].folder, message: (result.reason as Error).message });
          return;
        }
        for (const info of result.value) byName.set(info.spec.name, [...(byName.get(info.spec.name) ?? []), { info, module: folders[i].module }]);
      });
      for (const [name, found] of byName) {
        if (found.length === 1) {
          this.modules.set(found[0].info.location + '#' + name, found[0].module);
          catalog.operators.push(found[0].info);
          continue;
        }
        // no precedence: which one a pipeline would get must not depend on the order of folders
        const locations = found.map((f) => f.info.location);
        catalog.conflicts!.push({ name, locations });
        catalog.problems.push({ location: locations[1], message: conflictMessage(name, locations) });
      }
      return catalog;
    })();
    return this.listing;
  }

  /** The compiled module of a catalogued operator (to load it in-process, e.g. for the single-process benchmark baseline). */
  modulePath(operator: OperatorInfo): string | undefined {
    return this.modules.get(operator.location + '#' + operator.spec.name);
  }

  async start({ node, operator, session, token }: StartRequest): Promise<OperatorProcess> {
    const module = this.modulePath(operator);
    if (!module) throw new Error(`operator "${operator.spec.name}" is not in the process runtime's catalog`);
    const env = { ...process.env, EMFLOW_SOCKET: session.socket, EMFLOW_SESSION_DIR: session.dir, EMFLOW_TOKEN: token, EMFLOW_NODE: node };
    return spawnOperatorProcess(process.execPath, ['--enable-source-maps', HOST_MAIN, module, '--operator', operator.spec.name], env);
  }
}
