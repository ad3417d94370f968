// `emflow build`: operator images built from local files only. The image filesystem under /opt/emflow mirrors
// the repository layout (the SDK and each operator with exactly their production dependencies), so Node
// resolves modules inside a container as it does here. Python operators get images too: the Python SDK and
// the operator's folder on a base made from Debian packages (python-base.ts). Command operators wrap programs
// of this machine and get none. Builds are incremental: an image whose content hash label matches what would
// be built is kept.
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { sha256 } from '../hash.js';
import { pythonFiles, sourceFiles, type OperatorEntry } from '../runtime/operator-folders.js';
import { PYTHON_SDK } from '../runtime/process.js';
import { EnvironmentError, type OperatorInfo } from '../runtime/runtime.js';
import { productionClosure, type PackageDir } from './closure.js';
import { buildCacheDir as pythonBaseCacheDir, buildPythonBase, debianPackagesOf, debootstrapUnavailable, pythonBase } from './python-base.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..', '..');
const RECIPES = join(REPO_ROOT, 'docker');
const SDK_LINK = join(REPO_ROOT, 'node_modules', '@emflow', 'sdk');
const sdkVersion = (createRequire(import.meta.url)('@emflow/sdk/package.json') as { version: string }).version;

/** Where the mirrored repository lives inside images. */
export const APP_ROOT = '/opt/emflow';
/** The non-root user operators run as in containers. */
export const CONTAINER_USER = { uid: 10001, gid: 10001 };
export const BASE_TAG = `emflow/node-base:${process.versions.node}`;
export const RUNTIME_TAG = `emflow/runtime:${sdkVersion}`;
export const SLIM_BASE = 'node:20-slim';

export interface BuildStep {
  tag: string;
  /** built now, kept because its content had not changed, or not built for this kind of operator (`note` says why) */
  status: 'built' | 'unchanged' | 'skipped';
  ms: number;
  note?: string;
}

/** An operator of the process runtime's catalog and its folder entry (`ProcessRuntime.entryOf`): what is built. */
export interface BuildSource {
  info: OperatorInfo;
  entry: OperatorEntry;
}

/** Command operators wrap a program of the machine they run on: no image of theirs is built. */
export const COMMAND_SKIPPED = 'command operators wrap a program on this machine, no image is built; run them with --runtime process';

export interface BuildOptions {
  /** 'offline': a base image made from this machine's Node; 'slim': FROM node:20-slim (needs a registry) */
  base: 'offline' | 'slim';
  /** rebuild even when nothing changed */
  force?: boolean;
  say?: (message: string) => void;
  /**
   * Debian packages for the Python base besides those of the Python operators built now (the build command
   * passes those of every Python operator it knows, so building a few operators reuses the same base)
   */
  debianPackages?: string[];
  /**
   * when the Python base cannot be made here (not root, no debootstrap), skip the Python operators with a note
   * instead of failing: for builds of "everything", so that TypeScript images never depend on Python's base
   */
  pythonOptional?: boolean;
}

/** The labels of a local image, or undefined when there is no such image. */
export async function imageLabels(docker: Docker, tag: string): Promise<Record<string, string> | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Config.Labels ?? {};
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

async function follow(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  await new Promise<void>((resolveDone, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string; errorDetail?: { message: string } }[]) => {
      const failed = error?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(`${what}: ${failed}`));
      else resolveDone();
    }),
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

export function contentHash(dir: string, extra: string): string {
  return sha256(extra, ...filesUnder(dir).flatMap((f) => [f, readFileSync(join(dir, f))]));
}

/** Copy a package under `app` (an image's /opt/emflow) at its repository-relative place: workspace packages without sources. */
function stage(app: string, pkg: { installed: string; dir: string; workspace: boolean }): void {
  const target = join(app, relative(REPO_ROOT, pkg.installed));
  mkdirSync(target, { recursive: true });
  if (!pkg.workspace) {
    cpSync(pkg.dir, target, { recursive: true, dereference: true, filter: (src) => !src.slice(pkg.dir.length).includes('/node_modules/') });
    return;
  }
  copyFileSync(join(pkg.dir, 'package.json'), join(target, 'package.json'));
  cpSync(join(pkg.dir, 'dist'), join(target, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.tsbuildinfo') });
  const addon = join(pkg.dir, 'build', 'Release', 'emflow_shm.node');
  if (existsSync(addon)) {
    mkdirSync(join(target, 'build', 'Release'), { recursive: true });
    copyFileSync(addon, join(target, 'build', 'Release', 'emflow_shm.node'));
  }
}

async function buildContext(docker: Docker, context: string, tag: string, buildargs: Record<string, string>, labels: Record<string, string>, force: boolean): Promise<BuildStep> {
  const started = performance.now();
  const hash = contentHash(context, JSON.stringify({ buildargs, labels }));
  const existing = await imageLabels(docker, tag);
  if (!force && existing?.['emflow.content-hash'] === hash) return { tag, status: 'unchanged', ms: performance.now() - started };
  const stream = await docker.buildImage({ context, src: filesUnder(context) }, { t: tag, buildargs, labels: { ...labels, 'emflow.content-hash': hash }, rm: true, forcerm: true });
  await follow(docker, stream, `building ${tag}`);
  return { tag, status: 'built', ms: performance.now() - started };
}

/**
 * This machine's Node binary and the libraries it links, under `root` (an image's filesystem), with a user
 * table naming the containers' user: a base for images without any registry.
 */
export async function copyNodeRuntime(root: string): Promise<void> {
  const put = (source: string, target: string) => {
    mkdirSync(join(root, dirname(target)), { recursive: true });
    copyFileSync(source, join(root, target));
  };
  put(process.execPath, '/usr/local/bin/node');
  const { stdout } = await run('ldd', [process.execPath]);
  for (const match of stdout.matchAll(/(\/\S+) \(0x/g)) put(match[1], match[1]);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/false\nemflow:x:${CONTAINER_USER.uid}:${CONTAINER_USER.gid}:emflow:/tmp:/bin/false\n`);
  writeFileSync(join(root, 'etc/group'), `root:x:0:\nemflow:x:${CONTAINER_USER.gid}:\n`);
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
}

/** A base image from this machine's own Node binary and the libraries it links: no registry needed. */
async function buildOfflineBase(docker: Docker, force: boolean): Promise<BuildStep> {
  const started = performance.now();
  if (!force && (await imageLabels(docker, BASE_TAG))) return { tag: BASE_TAG, status: 'unchanged', ms: performance.now() - started };
  const root = mkdtempSync(join(tmpdir(), 'emflow-base-'));
  try {
    await copyNodeRuntime(root);
    const tarball = join(root, '..', `${root.split('/').pop()}.tar`);
    await run('tar', ['-C', root, '-cf', tarball, '.']);
    const [repo, tag] = BASE_TAG.split(':');
    const stream = await docker.importImage(tarball, { repo, tag, changes: ['ENV PATH=/usr/local/bin:/usr/bin:/bin', `USER ${CONTAINER_USER.uid}:${CONTAINER_USER.gid}`, 'WORKDIR /tmp'] } as object);
    await follow(docker, stream, `importing ${BASE_TAG}`);
    rmSync(tarball, { force: true });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { tag: BASE_TAG, status: 'built', ms: performance.now() - started };
}

function newContext(recipe: string): string {
  const context = mkdtempSync(join(tmpdir(), 'emflow-build-'));
  copyFileSync(join(RECIPES, recipe), join(context, 'Dockerfile'));
  return context;
}

export const sdkClosure = () => productionClosure(SDK_LINK);

/** The SDK (with its native addon) and its dependencies, under `app` (an image's /opt/emflow). */
export function stageSdk(app: string): void {
  stage(app, { installed: SDK_LINK, dir: dirname(createRequire(import.meta.url).resolve('@emflow/sdk/package.json')), workspace: true });
  for (const pkg of sdkClosure()) stage(app, pkg);
}

/** An operator's manifest and compiled module under `app`, with the dependencies stageSdk does not already put there. */
export function stageOperator(app: string, info: OperatorInfo, module: string): void {
  const folder = info.location;
  const inRuntime = new Set<string>([SDK_LINK, ...sdkClosure().map((p: PackageDir) => p.installed)]);
  // the operator's manifest and its compiled module's folder, wherever that lives in the repository
  for (const part of [join(folder, 'package.json'), dirname(module)]) {
    cpSync(part, join(app, relative(REPO_ROOT, part)), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }
  for (const pkg of productionClosure(folder)) if (!inRuntime.has(pkg.installed)) stage(app, pkg);
}

/** Where a Python operator's folder is in its image: its repository-relative place, or /opt/emflow/external/NAME for folders elsewhere. */
export function pythonFolderInImage(folder: string): string {
  const inRepo = relative(REPO_ROOT, folder);
  return inRepo.startsWith('..') || inRepo === '' ? join(APP_ROOT, 'external', folder.split('/').pop()!) : join(APP_ROOT, inRepo);
}

/** The Python files of a folder (no __pycache__), for an image. */
/**
 * The Python SDK (for /opt/emflow/sdk/python, its place in the repository) and a Python operator's folder (its
 * pyproject.toml and Python files, what identifies it) under `context`, as sdk/ and app/.
 */
export function stagePythonOperator(context: string, entry: OperatorEntry & { kind: 'python' }): void {
  for (const file of pythonFiles(PYTHON_SDK)) cpSync(file, join(context, 'sdk', relative(PYTHON_SDK, file)));
  const folder = join(context, 'app', relative(APP_ROOT, pythonFolderInImage(entry.folder)));
  for (const file of sourceFiles(entry)) cpSync(file, join(folder, relative(entry.folder, file)));
}

/** The labels an operator's image carries (docker and SIF alike): its spec and the OCI image labels. */
export function operatorLabels(info: OperatorInfo): Record<string, string> {
  return {
    'emflow.operator': JSON.stringify(info.spec),
    'org.opencontainers.image.title': info.spec.name,
    'org.opencontainers.image.description': info.spec.description,
    'org.opencontainers.image.version': info.spec.version,
    'org.opencontainers.image.source': relative(REPO_ROOT, info.location),
  };
}

/** How an image starts its operator: the SDK's host loads the module. */
export const HOST_ENTRY = join(APP_ROOT, 'node_modules/@emflow/sdk/dist/host/main.js');
export const moduleInImage = (module: string) => join(APP_ROOT, relative(REPO_ROOT, module));

/** The runtime image: the SDK (with its native addon) and its dependencies, on the base image. */
async function buildRuntime(docker: Docker, base: string, force: boolean): Promise<BuildStep> {
  const context = newContext('runtime.Dockerfile');
  try {
    stageSdk(join(context, 'app'));
    return await buildContext(docker, context, RUNTIME_TAG, { BASE: base }, { 'org.opencontainers.image.title': 'emflow runtime', 'org.opencontainers.image.version': sdkVersion }, force);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

export function operatorTag(info: OperatorInfo): string {
  return `emflow/${info.spec.name}:${info.spec.version}`;
}

/** One operator image: its module and the dependencies the runtime image does not already have. */
async function buildOperator(docker: Docker, info: OperatorInfo, module: string, force: boolean): Promise<BuildStep> {
  const context = newContext('operator.Dockerfile');
  try {
    stageOperator(join(context, 'app'), info, module);
    const buildargs = { RUNTIME: RUNTIME_TAG, MODULE: moduleInImage(module), OPERATOR: info.spec.name };
    return await buildContext(docker, context, operatorTag(info), buildargs, operatorLabels(info), force);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** One Python operator image: the Python SDK and the operator's folder on the Python base; `python3 -m emflow_sdk` serves it. */
async function buildPythonOperator(docker: Docker, info: OperatorInfo, entry: OperatorEntry & { kind: 'python' }, base: string, force: boolean): Promise<BuildStep> {
  const context = newContext('python-operator.Dockerfile');
  try {
    stagePythonOperator(context, entry);
    const buildargs = { BASE: base, MODULE: join(pythonFolderInImage(entry.folder), relative(entry.folder, entry.script)), OPERATOR: info.spec.name };
    return await buildContext(docker, context, operatorTag(info), buildargs, operatorLabels(info), force);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * Build the images of these operators (from the process runtime's catalog, with their folder entries): the
 * Node base and runtime images and one image per TypeScript operator; the Python base and one image per
 * Python operator; command operators are skipped (a step with status 'skipped').
 */
export async function buildImages(docker: Docker, operators: BuildSource[], options: BuildOptions): Promise<BuildStep[]> {
  const say = options.say ?? (() => {});
  const force = options.force ?? false;
  const steps: BuildStep[] = [];
  const record = (step: BuildStep) => {
    steps.push(step);
    say(`${step.tag}: ${step.status} (${step.note ?? `${(step.ms / 1000).toFixed(1)} s`})`);
  };
  const node = operators.filter((o) => o.entry.kind === 'node');
  const python = operators.filter((o): o is { info: OperatorInfo; entry: OperatorEntry & { kind: 'python' } } => o.entry.kind === 'python');
  // the Python base first checked: a machine that cannot make it fails before anything is built
  let base = python.length ? pythonBase([...(options.debianPackages ?? []), ...python.flatMap((o) => debianPackagesOf(o.entry.folder))]) : undefined;
  const exists = async (tag: string) => (await imageLabels(docker, tag)) !== undefined;
  let pythonSkipped: string | undefined;
  if (base && (force || !(await exists(base.tag)))) {
    const problem = debootstrapUnavailable();
    if (problem && (force || !existsSync(join(pythonBaseCacheDir(), `${base.hash}.tar`)))) {
      if (!options.pythonOptional) throw new EnvironmentError(problem);
      pythonSkipped = `Python operator images need the Python base, which cannot be made here: ${problem}`;
      base = undefined;
    }
  }
  if (node.length) {
    if (options.base === 'offline') record(await buildOfflineBase(docker, force));
    record(await buildRuntime(docker, options.base === 'offline' ? BASE_TAG : SLIM_BASE, force));
  }
  if (base) record(await buildPythonBase(docker, base, { force, say, exists, follow: (stream, what) => follow(docker, stream, what) }));
  for (const { info, entry } of operators) {
    if (entry.kind === 'node') record(await buildOperator(docker, info, entry.module, force));
    else if (entry.kind === 'python') record(base ? await buildPythonOperator(docker, info, entry, base.tag, force) : { tag: operatorTag(info), status: 'skipped', ms: 0, note: pythonSkipped! });
    else record({ tag: operatorTag(info), status: 'skipped', ms: 0, note: COMMAND_SKIPPED });
  }
  return steps;
}
