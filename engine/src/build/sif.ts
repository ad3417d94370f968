// `emflow build --sif`: one Apptainer/Singularity image per operator, built without Docker or a registry (the
// HPC case). The build assembles a root folder itself (this machine's Node and the libraries it links, the SDK
// and the operator's module with its dependencies, at the same places as in the docker images) and builds it
// with a definition file `Bootstrap: scratch`. The SIF carries the same labels as the docker image. File names
// are content-addressed: a changed operator builds a new SIF, an unchanged one is kept. TypeScript operators
// only: Python and command operators are skipped with a note (a step with status 'skipped').
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTAINER_SESSION_DIR } from '../runtime/docker.js';
import { EnvironmentError, type OperatorInfo } from '../runtime/runtime.js';
import { APP_ROOT, COMMAND_SKIPPED, contentHash, copyNodeRuntime, HOST_ENTRY, moduleInImage, operatorLabels, stageOperator, stageSdk, type BuildSource, type BuildStep } from './images.js';

const run = promisify(execFile);

/** Where SIF images live unless told otherwise: the user's cache (`$XDG_CACHE_HOME/emflow/sif`). */
export function defaultImagesDir(): string {
  return process.env.EMFLOW_IMAGES ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'emflow', 'sif');
}

/** The apptainer (or singularity) command: `given`, else $EMFLOW_APPTAINER, else the first of them on PATH; it must run. */
export async function findApptainer(given = process.env.EMFLOW_APPTAINER): Promise<string> {
  for (const name of given ? [given] : ['apptainer', 'singularity']) {
    try {
      await run(name, ['--version']);
      return name;
    } catch (error) {
      if (given) throw new EnvironmentError(`singularity runtime: ${given} does not run (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  throw new EnvironmentError('singularity runtime: neither apptainer nor singularity is on PATH (install Apptainer, or set EMFLOW_APPTAINER=/path/to/apptainer)');
}

/** What the runtime starts in an operator's image: its Node on the SDK's host (no shell in the image to run a runscript). */
export const OPERATOR_COMMAND = ['/usr/local/bin/node', HOST_ENTRY];

/** A SIF's file name: `<operator>-<version>-<content hash>.sif`. */
export const sifName = (info: OperatorInfo, hash: string) => `${info.spec.name}-${info.spec.version}-${hash.slice(0, 16)}.sif`;

/**
 * The definition file: the assembled root copied in, the mount point of the session directory (apptainer cannot
 * make one in a read-only image), the labels, the environment, and the operator host as the runscript.
 */
export function definitionFile(root: string, entries: readonly string[], labels: Record<string, string>, environment: Record<string, string>): string {
  const lines = ['Bootstrap: scratch', '', '%setup', `    mkdir -p "$APPTAINER_ROOTFS${CONTAINER_SESSION_DIR}"`, ''];
  // the contents of each top-level folder into the folder of that name (apptainer makes /etc, /tmp … itself)
  lines.push('%files', ...entries.map((entry) => `    ${join(root, entry)}/* /${entry}/`), '', '%labels');
  // a label is the rest of its line: values are one line (JSON.stringify escapes newlines)
  for (const [key, value] of Object.entries(labels)) lines.push(`    ${key} ${value.replace(/\n/g, ' ')}`);
  lines.push('', '%environment', ...Object.entries(environment).map(([key, value]) => `    export ${key}=${JSON.stringify(value)}`));
  // there is no shell in the image: the runtime execs OPERATOR_COMMAND; the runscript says so for `apptainer inspect`
  lines.push('', '%runscript', `    exec ${OPERATOR_COMMAND.join(' ')} "$@"`, '');
  return lines.join('\n');
}

export interface SifBuildOptions {
  imagesDir?: string;
  force?: boolean;
  apptainer?: string;
  say?: (message: string) => void;
}

export const PYTHON_SIF_SKIPPED = 'Python operators: SIF images not supported yet; use --runtime docker or process';

/**
 * Build (or keep) the SIF of each TypeScript operator; older SIFs of the same operator are removed once the new
 * one is there. Python and command operators are skipped: a step with status 'skipped' and no path.
 */
export async function buildSifs(operators: BuildSource[], options: SifBuildOptions = {}): Promise<(BuildStep & { path?: string })[]> {
  const imagesDir = options.imagesDir ?? defaultImagesDir();
  const apptainer = options.apptainer ?? (await findApptainer());
  mkdirSync(imagesDir, { recursive: true });
  const steps: (BuildStep & { path?: string })[] = [];
  for (const { info, entry } of operators) {
    if (entry.kind !== 'node') {
      const step: BuildStep = { tag: info.spec.name, status: 'skipped', ms: 0, note: entry.kind === 'python' ? PYTHON_SIF_SKIPPED : COMMAND_SKIPPED };
      steps.push(step);
      options.say?.(`${info.spec.name}: skipped (${step.note})`);
      continue;
    }
    const module = entry.module;
    const started = performance.now();
    const root = mkdtempSync(join(tmpdir(), 'emflow-sif-'));
    try {
      const app = join(root, APP_ROOT);
      stageSdk(app);
      stageOperator(app, info, module);
      const labels = operatorLabels(info);
      const environment = { EMFLOW_MODULE: moduleInImage(module), EMFLOW_OPERATOR: info.spec.name, NODE_ENV: 'production', PATH: '/usr/local/bin:/usr/bin:/bin' };
      // the Node runtime is copied only to build: its version and binary stand for it in the hash
      const node = statSync(process.execPath);
      const hash = contentHash(root, JSON.stringify({ labels, environment, command: OPERATOR_COMMAND, mounts: [CONTAINER_SESSION_DIR], node: [process.version, node.size, node.mtimeMs], recipe: 2 }));
      const name = sifName(info, hash);
      const path = join(imagesDir, name);
      const others = readdirSync(imagesDir).filter((f) => f !== name && f.startsWith(`${info.spec.name}-`) && f.endsWith('.sif') && f.slice(info.spec.name.length + 1).split('-').length === 2);
      let status: BuildStep['status'] = 'unchanged';
      if (options.force || !readdirSync(imagesDir).includes(name)) {
        await copyNodeRuntime(root);
        const definition = join(root, '..', `${root.split('/').pop()}.def`);
        const filled = readdirSync(root).filter((entry) => readdirSync(join(root, entry)).length > 0);
        writeFileSync(definition, definitionFile(root, filled, { ...labels, 'emflow.content-hash': hash }, environment));
        // built beside the target and renamed: a reader never sees half a SIF
        const partial = `${path}.partial`;
        try {
          await run(apptainer, ['build', '--force', partial, definition], { maxBuffer: 64 << 20 });
          renameSync(partial, path);
        } catch (error) {
          rmSync(partial, { force: true });
          const output = `${(error as { stderr?: string }).stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
          throw new EnvironmentError(`building the SIF of ${info.spec.name} failed: ${output || (error as Error).message}`);
        } finally {
          rmSync(definition, { force: true });
        }
        status = 'built';
      }
      for (const old of others) rmSync(join(imagesDir, old), { force: true });
      const step = { tag: name, path, status, ms: performance.now() - started };
      steps.push(step);
      options.say?.(`${name}: ${status} (${(step.ms / 1000).toFixed(1)} s)`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  return steps;
}
