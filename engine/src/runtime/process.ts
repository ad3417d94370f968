// The process runtime, the embedded default: every operator a separate local process (the SDK's Node host on
// a TypeScript operator's compiled module, Python on a Python operator's script, the command host on a wrapped
// program's manifest). No container engine needed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { OperatorSpec } from '@emflow/sdk';
import { COMMAND_HOST } from '../command/host-path.js';
import { sha256 } from '../hash.js';
import { validateSpec } from '../validate/spec.js';
import { formatProblems } from '../validate/problems.js';
import { spawnOperatorProcess } from './local-process.js';
import { operatorEntries, sourceFiles, type OperatorEntry } from './operator-folders.js';
import { conflictMessage, type OperatorCatalog, type OperatorInfo, type OperatorProblem, type OperatorProcess, type Runtime, type StartRequest } from './runtime.js';

const run = promisify(execFile);
const sdkRoot = dirname(createRequire(import.meta.url).resolve('@emflow/sdk/package.json'));
/** The SDK's operator host: `node host/main.js MODULE [--operator NAME] [--describe]`. */
export const HOST_MAIN = join(sdkRoot, 'dist', 'host', 'main.js');
/** The Python SDK (package emflow_sdk), used in place by Python operators. */
export const PYTHON_SDK = join(sdkRoot, 'python');
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

/** Specs by content hash, so that listing operators does not start a process per unchanged operator. */
function specCacheFile(contentHash: string): string {
  const root = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(root, 'emflow', 'specs', `${contentHash}.json`);
}

/** How long `--describe` may take (an import that waits for a GPU or the network must not hang every listing). */
const DESCRIBE_TIMEOUT_MS = 60_000;

/** How an operator of this folder is started: a command line (without --describe / --operator), extra environment, working folder. */
export function launcher(entry: OperatorEntry): { command: string; args: string[]; env: NodeJS.ProcessEnv; cwd?: string } {
  switch (entry.kind) {
    case 'node':
      // no --enable-source-maps: reading every module's map cost a fifth of an operator's start-up CPU (as in the
      // images, which never had it); NODE_OPTIONS=--enable-source-maps gives TypeScript lines when debugging
      return { command: process.execPath, args: [HOST_MAIN, entry.module], env: {} };
    case 'python':
      // The SDK is used in place, ahead of any installed copy; unbuffered so that log lines arrive as written.
      // `-m` puts the working folder first on sys.path: the operator's own folder, never the engine's (whose
      // json.py or numpy/ would be imported), and PYTHONSAFEPATH drops it altogether where Python has it (3.11+).
      return {
        command: entry.python,
        args: ['-m', 'emflow_sdk', entry.script],
        env: { PYTHONPATH: [PYTHON_SDK, process.env.PYTHONPATH].filter(Boolean).join(':'), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', PYTHONSAFEPATH: '1' },
        cwd: entry.folder,
      };
    case 'command':
      return { command: process.execPath, args: [COMMAND_HOST, entry.manifest], env: {} };
  }
}

async function describe(entry: OperatorEntry): Promise<OperatorInfo[]> {
  if (entry.kind === 'node' && !existsSync(entry.module)) throw new Error(`${relative(process.cwd(), entry.module)} does not exist (build it with \`npm run build\`)`);
  const files = sourceFiles(entry);
  const contentHash = sha256(...files.flatMap((f) => [relative(entry.folder, f), readFileSync(f)]));
  const cached = specCacheFile(contentHash);
  let specs: unknown;
  if (existsSync(cached)) {
    specs = JSON.parse(readFileSync(cached, 'utf8'));
  } else {
    const { command, args, env, cwd } = launcher(entry);
    const options = { maxBuffer: 16 << 20, env: { ...process.env, ...env }, cwd, timeout: DESCRIBE_TIMEOUT_MS, killSignal: 'SIGKILL' as const };
    const { stdout } = await run(command, [...args, '--describe'], options).catch((error: { stderr?: string; message: string; code?: unknown; killed?: boolean }) => {
      const why =
        error.code === 'ENOENT'
          ? `cannot run ${command}: no such program${entry.kind === 'python' ? ' (install Python 3 with numpy, or name the interpreter with EMFLOW_PYTHON)' : ''}`
          : error.killed
            ? `--describe did not finish within ${DESCRIBE_TIMEOUT_MS / 1000} s and was stopped (does the operator do slow work when it is imported?)`
            : error.stderr || error.message;
      throw new Error(why.trim().split('\n').slice(0, 6).join('\n'));
    });
    try {
      specs = JSON.parse(stdout);
    } catch {
      throw new Error(`--describe printed something other than JSON: ${JSON.stringify(stdout.slice(0, 120))}`);
    }
    if (!Array.isArray(specs)) throw new Error('--describe must print a JSON array of specs');
    mkdirSync(dirname(cached), { recursive: true });
    writeFileSync(cached, JSON.stringify(specs));
  }
  return (specs as OperatorSpec[]).map((spec) => {
    const problems = validateSpec(spec);
    if (problems.length) throw new Error(`invalid spec of operator "${spec.name}":\n${formatProblems(problems)}`);
    return { spec, identity: `sha256:${contentHash}`, location: entry.folder };
  });
}

export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  private listing?: Promise<OperatorCatalog>;
  private readonly entries = new Map<string, OperatorEntry>();

  constructor(private readonly options: ProcessRuntimeOptions = {}) {}

  catalog(): Promise<OperatorCatalog> {
    this.listing ??= (async () => {
      const { dirs, problems } = searchPath(this.options.operatorDirs ?? []);
      const entries = operatorEntries(dirs, problems);
      const results = await Promise.allSettled(entries.map(describe));
      const catalog: OperatorCatalog = { operators: [], problems, conflicts: [] };
      const byName = new Map<string, { info: OperatorInfo; entry: OperatorEntry }[]>();
      results.forEach((result, i) => {
        if (result.status === 'rejected') {
          catalog.problems.push({ location: entries[i].folder, message: (result.reason as Error).message });
          return;
        }
        for (const info of result.value) byName.set(info.spec.name, [...(byName.get(info.spec.name) ?? []), { info, entry: entries[i] }]);
      });
      for (const [name, found] of byName) {
        if (found.length === 1) {
          this.entries.set(found[0].info.location + '#' + name, found[0].entry);
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

  /** The folder entry of a catalogued operator: its kind, and the module, script or manifest it runs. */
  entryOf(operator: OperatorInfo): OperatorEntry | undefined {
    return this.entries.get(operator.location + '#' + operator.spec.name);
  }

  /** The compiled module of a catalogued TypeScript operator (to load it in-process, or to build its image). */
  modulePath(operator: OperatorInfo): string | undefined {
    const entry = this.entryOf(operator);
    return entry?.kind === 'node' ? entry.module : undefined;
  }

  async start({ node, operator, session, token }: StartRequest): Promise<OperatorProcess> {
    const entry = this.entryOf(operator);
    if (!entry) throw new Error(`operator "${operator.spec.name}" is not in the process runtime's catalog`);
    const { command, args, env, cwd } = launcher(entry);
    const environment = { ...process.env, ...env, EMFLOW_SOCKET: session.socket, EMFLOW_SESSION_DIR: session.dir, EMFLOW_TOKEN: token, EMFLOW_NODE: node };
    return spawnOperatorProcess(command, [...args, '--operator', operator.spec.name], environment, { cwd });
  }
}
